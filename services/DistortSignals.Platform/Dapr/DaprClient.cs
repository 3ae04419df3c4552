using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.State;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace DistortSignals.Platform.Dapr;

/// <summary>
/// Our client of the Dapr sidecar's HTTP API (dapr-http-api.md), named and shaped after the SDK's
/// <c>DaprClient</c> so that the SDK can replace it. What the reference's pitfalls demand is done here once:
/// every body has a Content-Type, our CloudEvent goes as <c>application/cloudevents+json</c> with our id, ETags
/// are read with <c>TryGetValues</c> and sent unquoted, a 409 is an ETag mismatch but so is a 500 inside a
/// transaction, and the first call waits for <c>/v1.0/healthz/outbound</c> (never <c>/v1.0/healthz</c>, which
/// waits for this app and deadlocks start-up).
/// <para>
/// Every call has a per-attempt timeout and goes through one circuit breaker; calls that are safe to repeat
/// (reads, writes without an ETag, publishes, since consumers dedupe on the event id) are retried with
/// exponential backoff and jitter on transport errors, timeouts, 429 and 502-504. Conditional writes,
/// method invocations and actor calls are tried once, because a lost answer to a success must not turn into a
/// second effect or a false conflict.
/// </para>
/// </summary>
public sealed class DaprClient : IDisposable
{
    private const string ApiTokenHeader = "dapr-api-token";
    private const string JsonContentType = "application/json";
    private static readonly ResiliencePropertyKey<string> OperationKey = new("dapr.operation");

    private readonly HttpClient _http;
    private readonly DaprPlatformOptions _options;
    private readonly DaprMetrics _metrics;
    private readonly ILogger<DaprClient> _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _once;
    private readonly ResiliencePipeline<HttpResponseMessage> _retrying;
    private Task? _sidecarReady;

    public DaprClient(IOptions<DaprPlatformOptions> options, DaprMetrics metrics, ILogger<DaprClient> logger)
    {
        _options = options.Value;
        _metrics = metrics;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = _options.HttpEndpoint,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _once = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                FailureRatio = _options.BreakerFailureRatio,
                MinimumThroughput = Math.Max(2, _options.BreakerMinimumThroughput),
                SamplingDuration = _options.BreakerSamplingDuration,
                BreakDuration = _options.BreakerBreakDuration,
                OnOpened = args =>
                {
                    _metrics.BreakerOpened.Add(1);
                    _logger.LogWarning("The Dapr sidecar circuit opened for {BreakDuration} after failing calls: {Error}",
                        args.BreakDuration, args.Outcome.Exception?.Message ?? $"status {(int?)args.Outcome.Result?.StatusCode}");
                    return default;
                },
            })
            .AddTimeout(_options.CallTimeout)
            .Build();
        _retrying = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome) || args.Outcome.Result?.StatusCode == HttpStatusCode.TooManyRequests),
                MaxRetryAttempts = Math.Max(1, _options.MaxRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryBaseDelay,
                OnRetry = args =>
                {
                    args.Outcome.Result?.Dispose();
                    _metrics.Retries.Add(1, new KeyValuePair<string, object?>("operation", args.Context.Properties.GetValue(OperationKey, "unknown")));
                    return default;
                },
            })
            .AddPipeline(_once)
            .Build();
    }

    public Uri HttpEndpoint => _options.HttpEndpoint;

    /// <summary>True when <c>/v1.0/healthz/outbound</c> answers 2xx: the sidecar's components are ready. Never throws for an absent sidecar.</summary>
    public async Task<bool> CheckOutboundHealthAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.CallTimeout);
        try
        {
            // Outside the pipeline: polling an absent sidecar at start-up must not open the breaker for the real calls.
            using var response = await _http.GetAsync("v1.0/healthz/outbound", timeout.Token);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Polls <c>/v1.0/healthz/outbound</c> until it answers, up to <see cref="DaprPlatformOptions.SidecarWaitTimeout"/>.</summary>
    public async Task WaitForSidecarAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.SidecarWaitTimeout);
        try
        {
            while (!await CheckOutboundHealthAsync(timeout.Token))
            {
                await Task.Delay(_options.SidecarPollInterval, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"the Dapr sidecar at {_options.HttpEndpoint} did not report ready on /v1.0/healthz/outbound within {_options.SidecarWaitTimeout}");
        }
    }

    /// <summary>Publishes our own envelope (<c>application/cloudevents+json</c>, so Dapr keeps our id); <paramref name="metadata"/> goes as <c>metadata.&lt;k&gt;</c>, e.g. Kafka's <c>partitionKey</c>.</summary>
    public async Task PublishEventAsync(string pubsubName, string topicName, CloudEvent cloudEvent, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(cloudEvent with { Topic = null }, PlatformJson.Options);
        var path = $"v1.0/publish/{Segment(pubsubName)}/{Segment(topicName)}{Query(metadata)}";
        using var response = await SendAsync("publish", retry: true, () => new HttpRequestMessage(HttpMethod.Post, path) { Content = Body(body, CloudEvent.ContentType) }, cancellationToken);
        await EnsureSuccessAsync("publish", response, cancellationToken);
    }

    /// <summary>Publishes several envelopes in one call; the failed ones come back with their error (Dapr answers 500 with <c>failedEntries</c>).</summary>
    public async Task<BulkPublishResponse> BulkPublishEventAsync(
        string pubsubName, string topicName, IReadOnlyList<CloudEvent> cloudEvents, Func<CloudEvent, IReadOnlyDictionary<string, string>?>? metadata, CancellationToken cancellationToken)
    {
        var entries = new JsonArray();
        for (var i = 0; i < cloudEvents.Count; i++)
        {
            var entry = new JsonObject
            {
                ["entryId"] = i.ToString(CultureInfo.InvariantCulture),
                ["event"] = JsonSerializer.SerializeToNode(cloudEvents[i] with { Topic = null }, PlatformJson.Options),
                ["contentType"] = CloudEvent.ContentType,
            };
            if (metadata?.Invoke(cloudEvents[i]) is { Count: > 0 } entryMetadata)
            {
                entry["metadata"] = new JsonObject(entryMetadata.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)JsonValue.Create(m.Value))));
            }

            entries.Add(entry);
        }

        var body = Encoding.UTF8.GetBytes(entries.ToJsonString());
        var path = $"v1.0-alpha1/publish/bulk/{Segment(pubsubName)}/{Segment(topicName)}";
        using var response = await SendAsync("publish.bulk", retry: true, () => new HttpRequestMessage(HttpMethod.Post, path) { Content = Body(body, JsonContentType) }, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return new BulkPublishResponse([]);
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode == HttpStatusCode.InternalServerError && TryParse(text) is { } error && error["failedEntries"] is JsonArray failed)
        {
            return new BulkPublishResponse([.. failed.Select(f => new BulkPublishFailedEntry(
                cloudEvents[int.Parse(f!["entryId"]!.GetValue<string>(), CultureInfo.InvariantCulture)],
                f["error"]?.GetValue<string>() ?? "unknown error"))]);
        }

        throw Error("publish.bulk", response.StatusCode, text);
    }

    /// <summary>The value and its ETag (unquoted, as the sidecar sends it); (default, null) when the key does not exist (204).</summary>
    public async Task<(T? Value, string? ETag)> GetStateAndETagAsync<T>(string storeName, string key, CancellationToken cancellationToken)
    {
        var (json, etag) = await GetRawStateAsync("state.get", $"v1.0/state/{Segment(storeName)}/{Segment(key)}", cancellationToken);
        return json is null ? (default, null) : (JsonSerializer.Deserialize<T>(json, PlatformJson.Options), etag);
    }

    /// <summary>Several keys in one call, in the order asked; a missing key has a null value. (The field is <c>data</c>, not the docs' <c>value</c>.)</summary>
    public async Task<IReadOnlyList<BulkStateItem>> GetBulkStateAsync(string storeName, IReadOnlyList<string> keys, int? parallelism, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return [];
        }

        var request = new JsonObject { ["keys"] = new JsonArray([.. keys.Select(k => (JsonNode?)JsonValue.Create(k))]) };
        if (parallelism is { } p)
        {
            request["parallelism"] = p;
        }

        var body = Encoding.UTF8.GetBytes(request.ToJsonString());
        using var response = await SendAsync("state.bulk", retry: true,
            () => new HttpRequestMessage(HttpMethod.Post, $"v1.0/state/{Segment(storeName)}/bulk") { Content = Body(body, JsonContentType) }, cancellationToken);
        var text = await ReadSuccessAsync("state.bulk", response, cancellationToken);
        var found = new Dictionary<string, BulkStateItem>();
        foreach (var item in JsonNode.Parse(text)!.AsArray())
        {
            var key = item!["key"]!.GetValue<string>();
            if (item["error"]?.GetValue<string>() is { Length: > 0 } itemError)
            {
                throw new DaprApiException("state.bulk", response.StatusCode, null, $"key '{key}': {itemError}");
            }

            var data = item["data"];
            found[key] = new BulkStateItem(key, data?.ToJsonString(), data is null ? null : item["etag"]?.GetValue<string>());
        }

        return [.. keys.Select(k => found.GetValueOrDefault(k) ?? new BulkStateItem(k, null, null))];
    }

    /// <summary>Last write wins.</summary>
    public async Task SaveStateAsync<T>(string storeName, string key, T value, CancellationToken cancellationToken)
    {
        if (!await SaveRawStateAsync(storeName, key, JsonSerializer.Serialize(value, PlatformJson.Options), null, cancellationToken))
        {
            throw new StateConcurrencyException(key);
        }
    }

    /// <summary>Saves only when the stored ETag is <paramref name="etag"/> (none: last write wins); false on a mismatch (409).</summary>
    public Task<bool> TrySaveStateAsync<T>(string storeName, string key, T value, string? etag, CancellationToken cancellationToken) =>
        SaveRawStateAsync(storeName, key, JsonSerializer.Serialize(value, PlatformJson.Options), etag, cancellationToken);

    public async Task DeleteStateAsync(string storeName, string key, CancellationToken cancellationToken)
    {
        if (!await DeleteRawStateAsync(storeName, key, null, cancellationToken))
        {
            throw new StateConcurrencyException(key);
        }
    }

    /// <summary>Deletes only when the stored ETag is <paramref name="etag"/>; false on a mismatch (409).</summary>
    public Task<bool> TryDeleteStateAsync(string storeName, string key, string etag, CancellationToken cancellationToken) =>
        DeleteRawStateAsync(storeName, key, etag, cancellationToken);

    /// <summary>
    /// All operations or none. The sidecar answers any failed transaction with 500 <c>ERR_STATE_TRANSACTION</c>,
    /// an ETag mismatch included (pitfall 3); when an operation carried an ETag we report that as
    /// <see cref="StateConcurrencyException"/>, whose remedy (read again, decide again) is also right for a passing failure.
    /// </summary>
    public async Task ExecuteStateTransactionAsync(string storeName, IReadOnlyList<StateTransactionRequest> operations, CancellationToken cancellationToken)
    {
        if (operations.Count == 0)
        {
            return;
        }

        var body = Encoding.UTF8.GetBytes(new JsonObject { ["operations"] = Operations(operations) }.ToJsonString());
        var conditional = operations.FirstOrDefault(o => !string.IsNullOrEmpty(o.ETag));
        using var response = await SendAsync("state.transaction", retry: conditional is null,
            () => new HttpRequestMessage(HttpMethod.Post, $"v1.0/state/{Segment(storeName)}/transaction") { Content = Body(body, JsonContentType) }, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var error = Error("state.transaction", response.StatusCode, text);
        throw conditional is not null && response.StatusCode == HttpStatusCode.InternalServerError && error.ErrorCode == "ERR_STATE_TRANSACTION"
            ? new StateConcurrencyException(conditional.Key)
            : error;
    }

    /// <summary>Service invocation: the callee's own status and body come back (not retried; the caller decides).</summary>
    public async Task<HttpResponseMessage> InvokeMethodAsync(HttpMethod method, string appId, string methodName, HttpContent? content, CancellationToken cancellationToken)
    {
        // Read once, so that every attempt can send its own request.
        var body = content is null ? null : await content.ReadAsByteArrayAsync(cancellationToken);
        var contentType = content?.Headers.ContentType?.MediaType ?? JsonContentType;
        return await SendAsync("invoke", retry: false, () => new HttpRequestMessage(method, $"v1.0/invoke/{Segment(appId)}/method/{methodName.TrimStart('/')}")
        {
            Content = body is null ? null : Body(body, contentType),
        }, cancellationToken);
    }

    /// <summary>Service invocation with JSON both ways (no body for null <paramref name="data"/>); a non-2xx answer of the callee is a <see cref="DaprApiException"/>.</summary>
    public async Task<TResponse?> InvokeMethodAsync<TRequest, TResponse>(HttpMethod method, string appId, string methodName, TRequest data, CancellationToken cancellationToken)
    {
        using var content = data is null ? null : Body(JsonSerializer.SerializeToUtf8Bytes(data, PlatformJson.Options), JsonContentType);
        using var response = await InvokeMethodAsync(method, appId, methodName, content, cancellationToken);
        var text = await ReadSuccessAsync("invoke", response, cancellationToken);
        return text.Length == 0 ? default : JsonSerializer.Deserialize<TResponse>(text, PlatformJson.Options);
    }

    /// <summary>Calls an actor method through the sidecar (which places the actor and gives it a turn). A 404 is an unknown method or type.</summary>
    public async Task<JsonElement?> InvokeActorMethodAsync(string actorType, string actorId, string method, JsonElement? data, CancellationToken cancellationToken)
    {
        var body = data is { } json ? Encoding.UTF8.GetBytes(json.GetRawText()) : [];
        using var response = await SendAsync("actor.invoke", retry: false, () =>
            new HttpRequestMessage(HttpMethod.Put, $"{ActorPath(actorType, actorId)}/method/{Segment(method)}") { Content = Body(body, JsonContentType) }, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ActorMethodNotFoundException(actorType, method);
        }

        var text = await ReadSuccessAsync("actor.invoke", response, cancellationToken);
        return text.Length == 0 ? null : JsonSerializer.Deserialize<JsonElement>(text);
    }

    /// <summary>One key of an actor's state as JSON text; null when absent (204).</summary>
    public async Task<string?> GetActorStateAsync(string actorType, string actorId, string key, CancellationToken cancellationToken) =>
        (await GetRawStateAsync("actor.state.get", $"{ActorPath(actorType, actorId)}/state/{Segment(key)}", cancellationToken)).Json;

    /// <summary>Upserts and deletes of one actor's state in one transaction; the actor must be active on this app (else 400 ERR_ACTOR_INSTANCE_MISSING).</summary>
    public async Task ExecuteActorStateTransactionAsync(string actorType, string actorId, IReadOnlyList<StateTransactionRequest> operations, CancellationToken cancellationToken)
    {
        if (operations.Count == 0)
        {
            return;
        }

        var body = Encoding.UTF8.GetBytes(Operations(operations).ToJsonString());
        using var response = await SendAsync("actor.state.transaction", retry: true,
            () => new HttpRequestMessage(HttpMethod.Put, $"{ActorPath(actorType, actorId)}/state") { Content = Body(body, JsonContentType) }, cancellationToken);
        await EnsureSuccessAsync("actor.state.transaction", response, cancellationToken);
    }

    /// <summary>Registers or replaces a durable reminder; a zero period fires once. Times go in the SDK's Go duration form.</summary>
    public async Task RegisterActorReminderAsync(
        string actorType, string actorId, string name, TimeSpan dueTime, TimeSpan period, JsonElement? data, CancellationToken cancellationToken)
    {
        var request = new JsonObject
        {
            ["dueTime"] = DaprDuration.Format(dueTime),
            ["period"] = period > TimeSpan.Zero ? DaprDuration.Format(period) : "",
        };
        if (data is { } json)
        {
            request["data"] = JsonNode.Parse(json.GetRawText());
        }

        var body = Encoding.UTF8.GetBytes(request.ToJsonString());
        using var response = await SendAsync("actor.reminder.register", retry: true,
            () => new HttpRequestMessage(HttpMethod.Put, $"{ActorPath(actorType, actorId)}/reminders/{Segment(name)}") { Content = Body(body, JsonContentType) }, cancellationToken);
        await EnsureSuccessAsync("actor.reminder.register", response, cancellationToken);
    }

    public async Task UnregisterActorReminderAsync(string actorType, string actorId, string name, CancellationToken cancellationToken)
    {
        using var response = await SendAsync("actor.reminder.unregister", retry: true,
            () => new HttpRequestMessage(HttpMethod.Delete, $"{ActorPath(actorType, actorId)}/reminders/{Segment(name)}"), cancellationToken);
        if (response.StatusCode != HttpStatusCode.NotFound)
        {
            await EnsureSuccessAsync("actor.reminder.unregister", response, cancellationToken);
        }
    }

    public void Dispose() => _http.Dispose();

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is HttpRequestException or TimeoutRejectedException
        || outcome.Result?.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private static string Segment(string value) => Uri.EscapeDataString(value);

    private static string ActorPath(string actorType, string actorId) => $"v1.0/actors/{Segment(actorType)}/{Segment(actorId)}";

    private static string Query(IReadOnlyDictionary<string, string>? metadata) =>
        metadata is not { Count: > 0 } ? "" : "?" + string.Join('&', metadata.Select(m => $"metadata.{Uri.EscapeDataString(m.Key)}={Uri.EscapeDataString(m.Value)}"));

    private static ByteArrayContent Body(byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return content;
    }

    private static JsonArray Operations(IReadOnlyList<StateTransactionRequest> operations) =>
        [.. operations.Select(o =>
        {
            var request = new JsonObject { ["key"] = o.Key };
            if (o.OperationType == StateOperationType.Upsert)
            {
                request["value"] = JsonNode.Parse(o.Value ?? throw new ArgumentException($"the upsert of state '{o.Key}' has no value", nameof(operations)));
            }

            if (!string.IsNullOrEmpty(o.ETag))
            {
                request["etag"] = o.ETag;
            }

            return (JsonNode?)new JsonObject { ["operation"] = o.OperationType == StateOperationType.Upsert ? "upsert" : "delete", ["request"] = request };
        })];

    private static JsonNode? TryParse(string text)
    {
        try
        {
            return text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static DaprApiException Error(string operation, HttpStatusCode status, string text)
    {
        var json = TryParse(text) as JsonObject;
        return new DaprApiException(operation, status, json?["errorCode"]?.GetValue<string>(), json?["message"]?.GetValue<string>() ?? text);
    }

    private static async Task EnsureSuccessAsync(string operation, HttpResponseMessage response, CancellationToken cancellationToken) =>
        await ReadSuccessAsync(operation, response, cancellationToken);

    private static async Task<string> ReadSuccessAsync(string operation, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode ? text : throw Error(operation, response.StatusCode, text);
    }

    private async Task<(string? Json, string? ETag)> GetRawStateAsync(string operation, string path, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(operation, retry: true, () => new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);
        var text = await ReadSuccessAsync(operation, response, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return (null, null);
        }

        // Unquoted, so Headers.ETag cannot parse it (pitfall 3): read the raw value.
        var etag = response.Headers.TryGetValues("ETag", out var values) ? values.FirstOrDefault() : null;
        return (text, etag);
    }

    private async Task<bool> SaveRawStateAsync(string storeName, string key, string json, string? etag, CancellationToken cancellationToken)
    {
        var item = new JsonObject { ["key"] = key, ["value"] = JsonNode.Parse(json) };
        if (!string.IsNullOrEmpty(etag))
        {
            item["etag"] = etag;
        }

        var body = Encoding.UTF8.GetBytes(new JsonArray(item).ToJsonString());
        using var response = await SendAsync("state.save", retry: string.IsNullOrEmpty(etag),
            () => new HttpRequestMessage(HttpMethod.Post, $"v1.0/state/{Segment(storeName)}") { Content = Body(body, JsonContentType) }, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            return false;
        }

        await EnsureSuccessAsync("state.save", response, cancellationToken);
        return true;
    }

    private async Task<bool> DeleteRawStateAsync(string storeName, string key, string? etag, CancellationToken cancellationToken)
    {
        using var response = await SendAsync("state.delete", retry: string.IsNullOrEmpty(etag), () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Delete, $"v1.0/state/{Segment(storeName)}/{Segment(key)}");
            if (!string.IsNullOrEmpty(etag))
            {
                // EntityTagHeaderValue would quote it; the sidecar wants it as it gave it (pitfall 3).
                request.Headers.TryAddWithoutValidation("If-Match", etag);
            }

            return request;
        }, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            return false;
        }

        await EnsureSuccessAsync("state.delete", response, cancellationToken);
        return true;
    }

    /// <summary>Waits for the sidecar once (again after a failed wait), then sends through the pipeline, recording the call.</summary>
    private async Task<HttpResponseMessage> SendAsync(
        string operation, bool retry, Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        await EnsureSidecarAsync(cancellationToken);

        var started = Stopwatch.GetTimestamp();
        var outcome = "error";
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(OperationKey, operation);
        try
        {
            var response = await (retry ? _retrying : _once).ExecuteAsync(
                static async (context, state) =>
                {
                    using var request = state.createRequest();
                    if (state.self._options.ApiToken is { Length: > 0 } token)
                    {
                        request.Headers.TryAddWithoutValidation(ApiTokenHeader, token);
                    }

                    return await state.self._http.SendAsync(request, context.CancellationToken);
                },
                context,
                (self: this, createRequest));
            outcome = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            return response;
        }
        catch (BrokenCircuitException)
        {
            outcome = "circuit-open";
            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
            _metrics.Calls.Add(1, new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("outcome", outcome));
            _metrics.Duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("operation", operation));
        }
    }

    private async Task EnsureSidecarAsync(CancellationToken cancellationToken)
    {
        var ready = Volatile.Read(ref _sidecarReady);
        if (ready is null)
        {
            var waiting = WaitForSidecarAsync(CancellationToken.None);
            ready = Interlocked.CompareExchange(ref _sidecarReady, waiting, null) ?? waiting;
        }

        try
        {
            await ready.WaitAsync(cancellationToken);
        }
        catch (TimeoutException)
        {
            // The next call waits again rather than failing forever.
            _ = Interlocked.CompareExchange(ref _sidecarReady, null, ready);
            throw;
        }
    }
}

/// <summary>The entries of a bulk publish that failed, with the sidecar's error; empty when all were published.</summary>
public sealed record BulkPublishResponse(IReadOnlyList<BulkPublishFailedEntry> FailedEntries);

public sealed record BulkPublishFailedEntry(CloudEvent Event, string Error);
