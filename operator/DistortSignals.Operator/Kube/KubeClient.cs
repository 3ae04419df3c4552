using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Operator.Kube;

/// <summary>One event of a watch stream: ADDED, MODIFIED, DELETED, BOOKMARK (or ERROR, turned into an exception).</summary>
public sealed record WatchEvent(string Type, JsonObject Object);

public sealed record KubeList(IReadOnlyList<JsonObject> Items, string ResourceVersion);

/// <summary>A non-success answer of the API server, with the Status it carried.</summary>
public sealed class KubeApiException(HttpStatusCode status, string? reason, string message)
    : Exception($"{(int)status} {reason}: {message}")
{
    public HttpStatusCode Status { get; } = status;

    public string? Reason { get; } = reason;

    public bool IsGone => Status == HttpStatusCode.Gone;

    public bool IsConflict => Status == HttpStatusCode.Conflict;

    public bool IsNotFound => Status == HttpStatusCode.NotFound;
}

/// <summary>The watch sent nothing, not even a bookmark, for longer than the idle timeout.</summary>
public sealed class WatchIdleException(TimeSpan idle) : Exception($"the watch was silent for {idle.TotalSeconds:0.#} s");

/// <summary>
/// A thin client over the Kubernetes REST API (reference/kubernetes-api.md section 2): GET, LIST, WATCH,
/// server-side apply (main resource and /status), JSON patch, create, replace, delete. Transient failures
/// (5xx, 429, network) are retried with backoff and jitter; 409 and 422 go back to the caller, who re-reads
/// the object (retrying a stale write would only fail again).
/// </summary>
public sealed class KubeClient : IDisposable
{
    public const string ApplyPatch = "application/apply-patch+yaml";
    public const string JsonPatch = "application/json-patch+json";
    public const string MergePatch = "application/merge-patch+json";

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private const int MaxAttempts = 5;

    private readonly KubeConnection connection;
    private readonly HttpClient http;
    private readonly ILogger logger;

    public KubeClient(KubeConnection connection, string fieldManager, string userAgent, ILogger logger)
    {
        this.connection = connection;
        this.logger = logger;
        FieldManager = fieldManager;
        // Infinite: a watch lives for minutes; every other request gets RequestTimeout from its own token.
        http = new HttpClient(connection.CreateHandler()) { BaseAddress = connection.Server, Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.ParseAdd(userAgent);
    }

    public string FieldManager { get; }

    public KubeConnection Connection => connection;

    public async Task<JsonObject?> GetAsync(ResourceKind kind, string @namespace, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await SendAsync(HttpMethod.Get, kind.Item(@namespace, name), null, null, cancellationToken);
        }
        catch (KubeApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    /// <summary>LIST; the watch must start from the list's resourceVersion, never an item's.</summary>
    public async Task<KubeList> ListAsync(ResourceKind kind, string? @namespace, CancellationToken cancellationToken)
    {
        var list = await SendAsync(HttpMethod.Get, kind.Collection(@namespace), null, null, cancellationToken);
        var items = (list["items"] as JsonArray ?? []).OfType<JsonObject>().Select(i => (JsonObject)i.DeepClone()).ToList();
        foreach (var item in items)
        {
            // A LIST's items carry neither kind nor apiVersion.
            item["apiVersion"] ??= kind.ApiVersion;
            item["kind"] ??= kind.Kind;
        }

        return new KubeList(items, list["metadata"]?["resourceVersion"]?.GetValue<string>() ?? "");
    }

    /// <summary>
    /// WATCH from <paramref name="resourceVersion"/> with bookmarks. Ends normally when the server closes the
    /// stream (timeoutSeconds); throws <see cref="KubeApiException"/> with 410 whether the expiry comes as the
    /// HTTP status or as an ERROR event, and <see cref="WatchIdleException"/> when the stream goes quiet.
    /// </summary>
    public async IAsyncEnumerable<WatchEvent> WatchAsync(
        ResourceKind kind, string? @namespace, string resourceVersion, int timeoutSeconds, TimeSpan idleTimeout,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = $"{kind.Collection(@namespace)}?watch=1&allowWatchBookmarks=true&resourceVersion={Uri.EscapeDataString(resourceVersion)}&timeoutSeconds={timeoutSeconds}";
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(idleTimeout);
        using var request = Request(HttpMethod.Get, path, null, null);
        using var response = await Guard(() => http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, idle.Token), idleTimeout, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await ErrorAsync(response, cancellationToken);
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (true)
        {
            idle.CancelAfter(idleTimeout);
            var line = await Guard(() => reader.ReadLineAsync(idle.Token).AsTask(), idleTimeout, cancellationToken);
            if (line is null)
            {
                yield break;
            }

            if (line.Length == 0)
            {
                continue;
            }

            var node = JsonNode.Parse(line) as JsonObject ?? throw new JsonException("a watch event is not a JSON object");
            var type = node["type"]?.GetValue<string>() ?? "";
            var obj = node["object"] as JsonObject ?? [];
            if (type == "ERROR")
            {
                var code = obj["code"]?.GetValue<int>() ?? 500;
                throw new KubeApiException((HttpStatusCode)code, obj["reason"]?.GetValue<string>(), obj["message"]?.GetValue<string>() ?? "watch error");
            }

            yield return new WatchEvent(type, (JsonObject)obj.DeepClone());
        }
    }

    /// <summary>Server-side apply with force (controllers always force): creates the object or updates the fields we own, and drops fields we no longer send.</summary>
    public Task<JsonObject> ApplyAsync(ResourceKind kind, JsonObject body, CancellationToken cancellationToken, string? subresource = null)
    {
        var ns = body["metadata"]?["namespace"]?.GetValue<string>() ?? throw new ArgumentException("metadata.namespace is required", nameof(body));
        var name = body["metadata"]?["name"]?.GetValue<string>() ?? throw new ArgumentException("metadata.name is required", nameof(body));
        var path = kind.Item(ns, name, subresource) + $"?fieldManager={Uri.EscapeDataString(FieldManager)}&force=true";
        return SendAsync(HttpMethod.Patch, path, body.ToJsonString(), ApplyPatch, cancellationToken);
    }

    /// <summary>An RFC 6902 patch; a failing <c>test</c> op comes back as 409 or 422 (<see cref="KubeApiException"/>).</summary>
    public Task<JsonObject> JsonPatchAsync(ResourceKind kind, string @namespace, string name, JsonArray operations, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Patch, kind.Item(@namespace, name), operations.ToJsonString(), JsonPatch, cancellationToken);

    public Task<JsonObject> CreateAsync(ResourceKind kind, string @namespace, JsonObject body, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, kind.Collection(@namespace), body.ToJsonString(), "application/json", cancellationToken);

    /// <summary>PUT; the body must carry metadata.resourceVersion and a stale one gives 409.</summary>
    public Task<JsonObject> ReplaceAsync(ResourceKind kind, string @namespace, string name, JsonObject body, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, kind.Item(@namespace, name), body.ToJsonString(), "application/json", cancellationToken);

    public async Task DeleteAsync(ResourceKind kind, string @namespace, string name, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(HttpMethod.Delete, kind.Item(@namespace, name), null, null, cancellationToken);
        }
        catch (KubeApiException e) when (e.IsNotFound)
        {
        }
    }

    public void Dispose() => http.Dispose();

    private async Task<JsonObject> SendAsync(HttpMethod method, string path, string? body, string? contentType, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(RequestTimeout);
            try
            {
                using var request = Request(method, path, body, contentType);
                using var response = await http.SendAsync(request, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    var text = await response.Content.ReadAsStringAsync(timeout.Token);
                    return text.Length == 0 ? [] : JsonNode.Parse(text) as JsonObject ?? [];
                }

                var error = await ErrorAsync(response, timeout.Token);
                if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 1)
                {
                    connection.InvalidateToken();
                    continue;
                }

                if (!IsTransient(response.StatusCode) || attempt >= MaxAttempts)
                {
                    throw error;
                }

                logger.LogDebug("{Method} {Path}: {Error}; retrying", method, path, error.Message);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested && attempt < MaxAttempts)
            {
                logger.LogDebug("{Method} {Path}: {Error}; retrying", method, path, e.Message);
            }

            await Task.Delay(Backoff.Delay(attempt, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5)), cancellationToken);
        }
    }

    private static bool IsTransient(HttpStatusCode status) => (int)status >= 500 || status == HttpStatusCode.TooManyRequests;

    private HttpRequestMessage Request(HttpMethod method, string path, string? body, string? contentType)
    {
        var request = new HttpRequestMessage(method, path);
        if (connection.Token() is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType ?? "application/json");
        }

        return request;
    }

    private static async Task<KubeApiException> ErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string? reason = null;
        var message = response.ReasonPhrase ?? "";
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (text.Length > 0 && JsonNode.Parse(text) is JsonObject status)
            {
                reason = status["reason"]?.GetValue<string>();
                message = status["message"]?.GetValue<string>() ?? message;
            }
        }
        catch (JsonException)
        {
        }

        return new KubeApiException(response.StatusCode, reason, message);
    }

    /// <summary>Turns the idle token's cancellation into <see cref="WatchIdleException"/>, leaving the caller's own cancellation alone.</summary>
    private static async Task<T> Guard<T>(Func<Task<T>> operation, TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        try
        {
            return await operation();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WatchIdleException(idleTimeout);
        }
    }
}

/// <summary>Exponential backoff with jitter, so that many clients that failed together do not retry together.</summary>
public static class Backoff
{
    public static TimeSpan Delay(int attempt, TimeSpan initial, TimeSpan cap)
    {
        var exponential = initial.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 16));
        var bounded = Math.Min(exponential, cap.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(bounded * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }
}
