using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DistortSignals.Platform.Dapr;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Testing.Dapr;

/// <summary>
/// A Dapr sidecar for tests, since none can run here: real HTTP on Kestrel, keeping the semantics of
/// /work/shared/reference/dapr-http-api.md (cited as "ref §n" and "pitfall n" below), the awkward ones
/// included. One app sits behind it; its pub/sub behaves like Kafka with a partition key (in order per key,
/// a failing message retried in place and blocking its key), its one state store like PostgreSQL v2 (UUID
/// ETags) and also serves actor state; reminders persist in the sidecar across app restarts, as they do in
/// the Scheduler. What the app does between <see cref="DisconnectApp"/> and <see cref="ConnectAppAsync"/> is a restart.
/// </summary>
public sealed class FakeDaprSidecar : IAsyncDisposable
{
    private const string TokenHeader = "dapr-api-token";

    private readonly FakeDaprSidecarOptions _options;
    private readonly WebApplication _server;
    private readonly HttpClient _app = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly Lock _stateLock = new();
    private readonly Dictionary<string, (string Json, string ETag)> _state = [];
    private readonly ConcurrentDictionary<(string Topic, string Key), Partition> _partitions = new();
    private readonly ConcurrentDictionary<(string Type, string Id), SemaphoreSlim> _turns = new();
    private readonly ConcurrentDictionary<(string Type, string Id), bool> _active = new();
    private readonly ConcurrentDictionary<(string Type, string Id, string Name, bool Timer), Schedule> _schedules = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _scheduler;
    private volatile AppConnection? _connection;
    private int _faults;

    private FakeDaprSidecar(FakeDaprSidecarOptions options)
    {
        _options = options;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _server = builder.Build();
        _server.Use(CheckApiTokenAsync);
        Map(_server);
    }

    public Uri Url { get; private set; } = null!;

    /// <summary>What <c>/v1.0/healthz/outbound</c> reports: the components are ready.</summary>
    public bool OutboundReady { get; set; } = true;

    /// <summary>How often the app's <c>/dapr/subscribe</c> was read: once per app start (ref §1, pitfall 7).</summary>
    public int SubscribeReads;

    public IReadOnlyList<JsonObject> Subscriptions => _connection?.Subscriptions ?? [];

    public IReadOnlyList<string> ActorTypes => _connection?.ActorTypes ?? [];

    /// <summary>Every envelope the sidecar published, with the partition key it was given.</summary>
    public ConcurrentQueue<(string Topic, JsonObject Envelope, string? PartitionKey)> Published { get; } = new();

    /// <summary>Every call the sidecar made to the app and the status it got (0: no answer).</summary>
    public ConcurrentQueue<(string Method, string Path, int Status)> AppCalls { get; } = new();

    /// <summary>Requests that reached the sidecar's API, e.g. to check a header the app sent.</summary>
    public ConcurrentQueue<(string Method, string Path, string? ApiToken)> Requests { get; } = new();

    public static async Task<FakeDaprSidecar> StartAsync(FakeDaprSidecarOptions? options = null)
    {
        var sidecar = new FakeDaprSidecar(options ?? new FakeDaprSidecarOptions());
        await sidecar._server.StartAsync();
        var address = sidecar._server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        sidecar.Url = new Uri(address.EndsWith('/') ? address : address + "/");
        sidecar._scheduler = Task.Run(sidecar.RunSchedulerAsync);
        return sidecar;
    }

    /// <summary>
    /// What a sidecar does once the app's port opens (ref §1 and §3, pitfall 7): reads <c>/dapr/subscribe</c>
    /// once (with a few retries while the port does not answer) and <c>/dapr/config</c> once, then delivers.
    /// </summary>
    public async Task ConnectAppAsync(Uri appUrl)
    {
        JsonArray? subscribe = null;
        for (var attempt = 1; subscribe is null; attempt++)
        {
            try
            {
                subscribe = JsonNode.Parse(await SendToAppAsync(HttpMethod.Get, appUrl, "/dapr/subscribe", null, null, ensure200: true))!.AsArray();
            }
            catch (HttpRequestException) when (attempt < 5)
            {
                await Task.Delay(100);
            }
        }

        Interlocked.Increment(ref SubscribeReads);
        // Objects, not strings (pitfall 11); a string entry fails here as it would in the sidecar.
        var subscriptions = subscribe.Select(s => s!.AsObject()).Where(s => (string?)s["pubsubname"] == _options.PubSubName).ToList();
        IReadOnlyList<string> actorTypes = [];
        try
        {
            var config = JsonNode.Parse(await SendToAppAsync(HttpMethod.Get, appUrl, "/dapr/config", null, null, ensure200: true));
            actorTypes = config?["entities"]?.AsArray().Select(e => e!.GetValue<string>()).ToList() ?? [];
        }
        catch (HttpRequestException)
        {
            // Anything but 200 means "no actors" (ref §3).
        }

        _connection = new AppConnection(appUrl, subscriptions, actorTypes);
        foreach (var partition in _partitions.Values)
        {
            partition.Kick(this);
        }
    }

    /// <summary>The app stopped: nothing is delivered and no reminder fires until it connects again; actors lose their activations.</summary>
    public void DisconnectApp()
    {
        _connection = null;
        _active.Clear();
        foreach (var timer in _schedules.Keys.Where(k => k.Timer))
        {
            _schedules.TryRemove(timer, out _);
        }
    }

    /// <summary>Deactivates an actor as the idle timeout would: <c>DELETE /actors/{type}/{id}</c> in its turn; its timers die (ref §3).</summary>
    public async Task DeactivateActorAsync(string actorType, string actorId)
    {
        var turn = Turn(actorType, actorId);
        await turn.WaitAsync();
        try
        {
            await SendToAppAsync(HttpMethod.Delete, RequireApp().Url, $"/actors/{actorType}/{actorId}", null, null, ensure200: true);
            _active.TryRemove((actorType, actorId), out _);
            foreach (var timer in _schedules.Keys.Where(k => k.Timer && k.Type == actorType && k.Id == actorId))
            {
                _schedules.TryRemove(timer, out _);
            }
        }
        finally
        {
            turn.Release();
        }
    }

    /// <summary>The next <paramref name="count"/> API calls (health excepted) answer 503, as a sidecar whose components are failing would.</summary>
    public void InjectFaults(int count) => Interlocked.Exchange(ref _faults, count);

    public bool HasReminder(string actorType, string actorId, string name) => _schedules.ContainsKey((actorType, actorId, name, false));

    public async ValueTask DisposeAsync()
    {
        _connection = null;
        await _stopping.CancelAsync();
        if (_scheduler is not null)
        {
            await _scheduler;
        }

        await _server.DisposeAsync();
        _app.Dispose();
    }

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new { errorCode = code, message }, statusCode: status);

    private static string StateKey(string appId, string key) => $"{appId}||{key}";

    private static bool ETagMatches(string? given, (string Json, string ETag)? stored) =>
        // PostgreSQL v2: a non-UUID ETag counts as a mismatch, not a bad request (ref §2 table of stores).
        stored is { } s && Guid.TryParse(given, out _) && s.ETag == given;

    private AppConnection RequireApp() => _connection ?? throw new InvalidOperationException("no app is connected to the fake sidecar");

    private SemaphoreSlim Turn(string actorType, string actorId) => _turns.GetOrAdd((actorType, actorId), _ => new SemaphoreSlim(1, 1));

    /// <summary><c>DAPR_API_TOKEN</c>: 401 without the token, health exempt (ref §4 "Tokens").</summary>
    private async Task CheckApiTokenAsync(HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path.Value ?? "";
        var token = context.Request.Headers[TokenHeader].FirstOrDefault();
        Requests.Enqueue((context.Request.Method, path, token));
        if (_options.ApiToken is { } expected && !path.StartsWith("/v1.0/healthz", StringComparison.Ordinal) && token != expected)
        {
            await Error(401, "ERR_UNAUTHORIZED", "invalid api token").ExecuteAsync(context);
            return;
        }

        if (!path.StartsWith("/v1.0/healthz", StringComparison.Ordinal) && Interlocked.Decrement(ref _faults) >= 0)
        {
            await Error(503, "ERR_INJECTED", "injected fault").ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    private void Map(WebApplication server)
    {
        // Ref §4 "Health": outbound is ready once the components are; /v1.0/healthz also waits for the app channel.
        server.MapGet("/v1.0/healthz/outbound", () => OutboundReady ? Results.NoContent() : Results.StatusCode(500));
        server.MapGet("/v1.0/healthz", () => OutboundReady && _connection is not null ? Results.NoContent() : Results.StatusCode(500));
        server.MapGet("/v1.0/metadata", () => Results.Json(new
        {
            id = _options.AppId,
            actors = ActorTypes.Select(t => new { type = t, count = _active.Keys.Count(k => k.Type == t) }),
            subscriptions = Subscriptions,
        }));

        server.MapMethods("/v1.0/publish/{pubsub}/{**topic}", ["POST", "PUT"], PublishAsync);
        server.MapPost("/v1.0/publish/bulk/{pubsub}/{**topic}", BulkPublishAsync);
        server.MapPost("/v1.0-alpha1/publish/bulk/{pubsub}/{**topic}", BulkPublishAsync);

        server.MapMethods("/v1.0/state/{store}", ["POST", "PUT"], SaveStateAsync);
        server.MapPost("/v1.0/state/{store}/bulk", BulkGetStateAsync);
        server.MapPost("/v1.0/state/{store}/transaction", StateTransactionAsync);
        server.MapGet("/v1.0/state/{store}/{key}", GetState);
        server.MapDelete("/v1.0/state/{store}/{key}", DeleteState);

        server.Map("/v1.0/invoke/{appId}/method/{**path}", InvokeAsync);

        server.MapMethods("/v1.0/actors/{type}/{id}/method/{method}", ["POST", "PUT", "GET", "DELETE"], InvokeActorAsync);
        server.MapGet("/v1.0/actors/{type}/{id}/state/{key}", GetActorState);
        server.MapMethods("/v1.0/actors/{type}/{id}/state", ["POST", "PUT"], ActorStateTransactionAsync);
        server.MapMethods("/v1.0/actors/{type}/{id}/reminders/{name}", ["POST", "PUT"], (string type, string id, string name, JsonObject body) =>
            RegisterSchedule(type, id, name, body, timer: false));
        server.MapGet("/v1.0/actors/{type}/{id}/reminders/{name}", (string type, string id, string name) =>
            _schedules.TryGetValue((type, id, name, false), out var reminder)
                ? Results.Json(new { actorID = id, actorType = type, dueTime = reminder.DueTimeText, period = reminder.PeriodText, data = reminder.Data })
                : Error(404, "ERR_ACTOR_REMINDER_GET", "reminder not found"));
        server.MapDelete("/v1.0/actors/{type}/{id}/reminders/{name}", (string type, string id, string name) =>
        {
            _schedules.TryRemove((type, id, name, false), out _);
            return Results.NoContent();
        });
        server.MapMethods("/v1.0/actors/{type}/{id}/timers/{name}", ["POST", "PUT"], (string type, string id, string name, JsonObject body) =>
            RegisterSchedule(type, id, name, body, timer: true));
        server.MapDelete("/v1.0/actors/{type}/{id}/timers/{name}", (string type, string id, string name) =>
        {
            _schedules.TryRemove((type, id, name, true), out _);
            return Results.NoContent();
        });
    }

    // ---- pub/sub (ref §1) ----

    private async Task<IResult> PublishAsync(string pubsub, string topic, HttpRequest request)
    {
        if (pubsub != _options.PubSubName)
        {
            return Error(404, "ERR_PUBSUB_NOT_FOUND", $"pubsub {pubsub} not found");
        }

        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var envelope = Envelope(topic, request.ContentType, body);
        if (envelope is null)
        {
            return Error(400, "ERR_PUBSUB_CLOUD_EVENTS_SER", "the body is not a CloudEvent");
        }

        Enqueue(topic, envelope, request.Query["metadata.partitionKey"].FirstOrDefault());
        return Results.NoContent();
    }

    /// <summary>Entries <c>{entryId, event, contentType, metadata}</c>; 204 when all succeed (ref §1 "Bulk publish").</summary>
    private IResult BulkPublishAsync(string pubsub, string topic, JsonArray entries)
    {
        if (pubsub != _options.PubSubName)
        {
            return Error(404, "ERR_PUBSUB_NOT_FOUND", $"pubsub {pubsub} not found");
        }

        var envelopes = new List<(JsonObject Envelope, string? Key)>();
        foreach (var entry in entries.Select(e => e!.AsObject()))
        {
            if (entry["entryId"]?.GetValue<string>() is not { Length: > 0 })
            {
                return Error(400, "ERR_PUBSUB_EVENTS_SER", "every entry needs an entryId");
            }

            var contentType = entry["contentType"]?.GetValue<string>();
            var @event = entry["event"];
            var text = @event is JsonValue value && value.TryGetValue<string>(out var s) && contentType?.Contains("json", StringComparison.Ordinal) != true ? s : @event?.ToJsonString() ?? "";
            var envelope = Envelope(topic, contentType, text);
            if (envelope is null)
            {
                return Error(400, "ERR_PUBSUB_CLOUD_EVENTS_SER", "an entry is not a CloudEvent");
            }

            envelopes.Add((envelope, entry["metadata"]?["partitionKey"]?.GetValue<string>()));
        }

        foreach (var (envelope, key) in envelopes)
        {
            Enqueue(topic, envelope, key);
        }

        return Results.NoContent();
    }

    /// <summary>
    /// Ref §1 "Envelope": <c>application/cloudevents+json</c> is taken as the envelope (no id made for it; topic and
    /// pubsubname overwritten; source, type and specversion added when missing); anything else is wrapped, with
    /// <c>text/plain</c> assumed when there is no Content-Type, so JSON sent without one arrives as a string (pitfall 1).
    /// </summary>
    private JsonObject? Envelope(string topic, string? contentType, string body)
    {
        var mediaType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType).MediaType;
        JsonObject envelope;
        if (mediaType == "application/cloudevents+json")
        {
            try
            {
                envelope = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("not an object");
            }
            catch (JsonException)
            {
                return null;
            }

            envelope["source"] ??= "Dapr";
            envelope["type"] ??= "com.dapr.event.sent";
            envelope["specversion"] ??= "1.0";
        }
        else
        {
            mediaType ??= "text/plain";
            JsonNode? data;
            if (mediaType == "application/json" || mediaType.EndsWith("+json", StringComparison.Ordinal))
            {
                try
                {
                    data = JsonNode.Parse(body);
                }
                catch (JsonException)
                {
                    data = JsonValue.Create(body);
                }
            }
            else
            {
                data = JsonValue.Create(body);
            }

            envelope = new JsonObject
            {
                ["id"] = Guid.NewGuid().ToString(),
                ["source"] = _options.AppId,
                ["type"] = "com.dapr.event.sent",
                ["specversion"] = "1.0",
                ["datacontenttype"] = mediaType,
                ["data"] = data,
            };
        }

        envelope["topic"] = topic;
        envelope["pubsubname"] = _options.PubSubName;
        return envelope;
    }

    private void Enqueue(string topic, JsonObject envelope, string? partitionKey)
    {
        Published.Enqueue((topic, envelope, partitionKey));
        // Kafka: one partition per key, in order there; without a key any partition (here: its own).
        var key = partitionKey ?? Guid.NewGuid().ToString();
        var partition = _partitions.GetOrAdd((topic, key), _ => new Partition(topic, key));
        partition.Add(envelope.ToJsonString());
        partition.Kick(this);
    }

    /// <summary>Delivers the head of a partition until it is empty; a retried head blocks its partition, as Kafka's in-place retries do (pitfall 10).</summary>
    private async Task DrainAsync(Partition partition)
    {
        while (!_stopping.IsCancellationRequested && _connection is { } app && partition.TryPeek(out var message))
        {
            var subscription = app.Subscriptions.FirstOrDefault(s => (string?)s["topic"] == partition.Topic);
            if (subscription is null)
            {
                partition.Remove();
                continue;
            }

            var route = (string)subscription["route"]!;
            var deadLetterTopic = (string?)subscription["deadLetterTopic"];
            var answer = await DeliverAsync(app.Url, route, message);
            if (answer == Answer.Retry)
            {
                partition.Attempts++;
                if (partition.Attempts < _options.DeliveryAttempts || deadLetterTopic is null)
                {
                    // The Resiliency retry policy, then (without a dead-letter topic) the broker's redelivery in place (ref §1 "When a message is retried").
                    await Task.Delay(_options.DeliveryRetryInterval);
                    continue;
                }
            }

            if (answer != Answer.Success && deadLetterTopic is not null)
            {
                // Dropped, or retried to the end of the policy: to the dead-letter topic (ref §1 table, step 2).
                var envelope = JsonNode.Parse(message)!.AsObject();
                Enqueue(deadLetterTopic, envelope, partition.Key);
            }
            else if (answer == Answer.Success && _options.RedeliverAcknowledged)
            {
                // At least once: the same message again, as a Redis redelivery after processingTimeout would (pitfall 6).
                await DeliverAsync(app.Url, route, message);
            }

            partition.Remove();
        }

        partition.Done(this);
    }

    /// <summary>Ref §1 "Delivery": 2xx with SUCCESS (or no status) acknowledges; DROP or 404 drops; RETRY, an unknown status, any other status or no answer retries.</summary>
    private async Task<Answer> DeliverAsync(Uri appUrl, string route, string message)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(appUrl, route)) { Content = new StringContent(message, Encoding.UTF8) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/cloudevents+json");
            using var response = await SendToAppAsync(request);
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync();
            if (status == 404)
            {
                return Answer.Drop;
            }

            if (status is < 200 or > 299)
            {
                return Answer.Retry;
            }

            string? answer = null;
            try
            {
                answer = (JsonNode.Parse(body) as JsonObject)?["status"]?.GetValue<string>();
            }
            catch (JsonException)
            {
                // Not JSON: acknowledged.
            }

            return answer switch
            {
                null or "SUCCESS" => Answer.Success,
                "DROP" => Answer.Drop,
                _ => Answer.Retry,
            };
        }
        catch (Exception error) when (error is HttpRequestException or TaskCanceledException)
        {
            return Answer.Retry;
        }
    }

    // ---- state (ref §2) ----

    private IResult? UnknownStore(string store) =>
        store == _options.StateStoreName ? null : Error(400, "ERR_STATE_STORE_NOT_FOUND", $"state store {store} is not found");

    /// <summary>Save: 204; 400 for a missing key or an ETag that is not a JSON string; 409 on an ETag mismatch (ref §2).</summary>
    private IResult SaveStateAsync(string store, JsonArray items)
    {
        if (UnknownStore(store) is { } unknown)
        {
            return unknown;
        }

        lock (_stateLock)
        {
            var saves = new List<(string Key, string Json)>();
            foreach (var item in items.Select(i => i as JsonObject))
            {
                if (item?["key"] is not JsonValue keyNode || !keyNode.TryGetValue<string>(out var key) || key.Length == 0)
                {
                    return Error(400, "ERR_MALFORMED_REQUEST", "a state item has no key");
                }

                var etag = item["etag"];
                if (etag is not null && (etag is not JsonValue etagValue || !etagValue.TryGetValue<string>(out _)))
                {
                    return Error(400, "ERR_MALFORMED_REQUEST", "etag must be a JSON string");
                }

                var given = etag?.GetValue<string>();
                var fullKey = StateKey(_options.AppId, key);
                if (!string.IsNullOrEmpty(given) && !ETagMatches(given, _state.TryGetValue(fullKey, out var stored) ? stored : null))
                {
                    return Error(409, "ERR_STATE_SAVE", $"failed saving state in state store {store}: possible etag mismatch");
                }

                saves.Add((fullKey, item["value"]?.ToJsonString() ?? "null"));
            }

            foreach (var (key, json) in saves)
            {
                _state[key] = (json, Guid.NewGuid().ToString());
            }
        }

        return Results.NoContent();
    }

    /// <summary>Get: 200 with the stored JSON and an unquoted <c>ETag</c> header (pitfall 3); 204 when the key is absent.</summary>
    private IResult GetState(string store, string key, HttpResponse response)
    {
        if (UnknownStore(store) is { } unknown)
        {
            return unknown;
        }

        lock (_stateLock)
        {
            if (!_state.TryGetValue(StateKey(_options.AppId, key), out var stored))
            {
                return Results.NoContent();
            }

            response.Headers["ETag"] = stored.ETag;
            return Results.Text(stored.Json, "application/json");
        }
    }

    /// <summary>Delete: <c>If-Match</c> carries the raw ETag; 409 on a mismatch (ref §2).</summary>
    private IResult DeleteState(string store, string key, HttpRequest request)
    {
        if (UnknownStore(store) is { } unknown)
        {
            return unknown;
        }

        var etag = request.Headers.IfMatch.FirstOrDefault();
        lock (_stateLock)
        {
            var fullKey = StateKey(_options.AppId, key);
            if (!string.IsNullOrEmpty(etag) && !ETagMatches(etag, _state.TryGetValue(fullKey, out var stored) ? stored : null))
            {
                return Error(409, "ERR_STATE_DELETE", "failed deleting state: possible etag mismatch");
            }

            _state.Remove(fullKey);
        }

        return Results.NoContent();
    }

    /// <summary>Bulk get: <c>[{key, data, etag}]</c>, the field being <c>data</c>, not the docs' <c>value</c> (pitfall 11).</summary>
    private IResult BulkGetStateAsync(string store, JsonObject request)
    {
        if (UnknownStore(store) is { } unknown)
        {
            return unknown;
        }

        var result = new JsonArray();
        lock (_stateLock)
        {
            foreach (var key in request["keys"]?.AsArray().Select(k => k!.GetValue<string>()) ?? [])
            {
                var item = new JsonObject { ["key"] = key };
                if (_state.TryGetValue(StateKey(_options.AppId, key), out var stored))
                {
                    item["data"] = JsonNode.Parse(stored.Json);
                    item["etag"] = stored.ETag;
                }

                result.Add(item);
            }
        }

        return Results.Text(result.ToJsonString(), "application/json");
    }

    /// <summary>Transaction: all or nothing; any failure, an ETag mismatch included, is 500 ERR_STATE_TRANSACTION, not 409 (ref §2, pitfall 3).</summary>
    private IResult StateTransactionAsync(string store, JsonObject request)
    {
        if (UnknownStore(store) is { } unknown)
        {
            return unknown;
        }

        return Transact(request["operations"]?.AsArray() ?? [], key => StateKey(_options.AppId, key), checkETags: true)
            ? Results.NoContent()
            : Error(500, "ERR_STATE_TRANSACTION", "error while executing state transaction: possible etag mismatch. error from state store: etag mismatch");
    }

    private bool Transact(JsonArray operations, Func<string, string> fullKey, bool checkETags)
    {
        lock (_stateLock)
        {
            var parsed = operations.Select(o => (
                Operation: o!["operation"]!.GetValue<string>(),
                Key: fullKey(o["request"]!["key"]!.GetValue<string>()),
                Value: o["request"]!["value"]?.ToJsonString(),
                ETag: o["request"]!["etag"]?.GetValue<string>())).ToList();
            if (checkETags && parsed.Any(p => !string.IsNullOrEmpty(p.ETag) && !ETagMatches(p.ETag, _state.TryGetValue(p.Key, out var stored) ? stored : null)))
            {
                return false;
            }

            foreach (var (operation, key, value, _) in parsed)
            {
                if (operation == "delete")
                {
                    _state.Remove(key);
                }
                else
                {
                    _state[key] = (value ?? "null", Guid.NewGuid().ToString());
                }
            }
        }

        return true;
    }

    // ---- invocation (ref §4) ----

    /// <summary>Forwards the method, body and query to the app and returns the callee's own status and body.</summary>
    private async Task InvokeAsync(string appId, string path, HttpContext context)
    {
        if (appId != _options.AppId || _connection is not { } app)
        {
            await Error(500, "ERR_DIRECT_INVOKE", $"app {appId} is not reachable").ExecuteAsync(context);
            return;
        }

        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(app.Url, "/" + path + context.Request.QueryString));
        if (body.Length > 0)
        {
            request.Content = new StringContent(body, Encoding.UTF8, context.Request.ContentType ?? "application/json");
        }

        request.Headers.TryAddWithoutValidation("dapr-caller-app-id", _options.AppId);
        request.Headers.TryAddWithoutValidation("dapr-callee-app-id", appId);
        using var response = await SendToAppAsync(request);
        context.Response.StatusCode = (int)response.StatusCode;
        context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
        await response.Content.CopyToAsync(context.Response.Body);
    }

    // ---- actors (ref §3) ----

    /// <summary>
    /// Routes the call to the app in the actor's turn (one call at a time per id). 200 passes the body through;
    /// 404 is "not found"; anything else, even 204 (pitfall 8), becomes 500 ERR_ACTOR_INVOKE_METHOD.
    /// </summary>
    private async Task<IResult> InvokeActorAsync(string type, string id, string method, HttpRequest request)
    {
        if (_connection is not { } app || !app.ActorTypes.Contains(type))
        {
            return Error(500, "ERR_ACTOR_INVOKE_METHOD", $"did not find address for actor {type}/{id}");
        }

        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var turn = Turn(type, id);
        await turn.WaitAsync();
        try
        {
            _active[(type, id)] = true;
            using var call = new HttpRequestMessage(HttpMethod.Put, new Uri(app.Url, $"/actors/{type}/{id}/method/{method}"))
            {
                Content = new StringContent(body, Encoding.UTF8, request.ContentType ?? "application/json"),
            };
            using var response = await SendToAppAsync(call);
            var text = await response.Content.ReadAsStringAsync();
            return response.StatusCode switch
            {
                HttpStatusCode.OK => Results.Text(text, response.Content.Headers.ContentType?.ToString() ?? "application/json"),
                HttpStatusCode.NotFound => Results.Text(text, "application/problem+json", statusCode: 404),
                var other => Error(500, "ERR_ACTOR_INVOKE_METHOD", $"error from actor service: ({(int)other}) {text}"),
            };
        }
        catch (HttpRequestException error)
        {
            return Error(500, "ERR_ACTOR_INVOKE_METHOD", error.Message);
        }
        finally
        {
            turn.Release();
        }
    }

    private IResult GetActorState(string type, string id, string key, HttpResponse response)
    {
        lock (_stateLock)
        {
            return _state.TryGetValue(StateKey(_options.AppId, $"{type}||{id}||{key}"), out var stored)
                ? Results.Text(stored.Json, "application/json")
                : Results.NoContent();
        }
    }

    /// <summary>Actor state transactions only for an actor active on this host: else 400 ERR_ACTOR_INSTANCE_MISSING (pitfall 9).</summary>
    private IResult ActorStateTransactionAsync(string type, string id, JsonArray operations)
    {
        if (!_active.ContainsKey((type, id)))
        {
            return Error(400, "ERR_ACTOR_INSTANCE_MISSING", $"actor {type}/{id} is not active on this host");
        }

        return Transact(operations, key => StateKey(_options.AppId, $"{type}||{id}||{key}"), checkETags: false)
            ? Results.NoContent()
            : Error(500, "ERR_ACTOR_STATE_TRANSACTION_SAVE", "the transaction failed");
    }

    /// <summary>Reminders (durable) and timers (in memory): 403 for a type this app does not host (pitfall 9); times in every format of ref §3.</summary>
    private IResult RegisterSchedule(string type, string id, string name, JsonObject body, bool timer)
    {
        if (!ActorTypes.Contains(type))
        {
            return Error(403, "ERR_ACTOR_REMINDER_NON_HOSTED", $"actor type {type} is not hosted by this app");
        }

        var dueText = body["dueTime"]?.GetValue<string>() ?? "";
        var periodText = body["period"]?.GetValue<string>() ?? "";
        TimeSpan due, period;
        int? repetitions;
        try
        {
            due = DaprDuration.ParseDueTime(dueText, DateTimeOffset.UtcNow);
            period = DaprDuration.ParsePeriod(periodText, out repetitions);
        }
        catch (FormatException error)
        {
            return Error(400, "ERR_MALFORMED_REQUEST", error.Message);
        }

        _schedules[(type, id, name, timer)] = new Schedule(DateTimeOffset.UtcNow + due, period, repetitions, dueText, periodText,
            body["data"]?.DeepClone(), timer ? body["callback"]?.GetValue<string>() : null);
        return Results.NoContent();
    }

    /// <summary>Fires due reminders and timers through the app's callbacks in the actor's turn; a failed callback keeps the schedule (ref §3 "Semantics").</summary>
    private async Task RunSchedulerAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.SchedulerTick, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (_connection is not { } app)
            {
                continue;
            }

            var now = DateTimeOffset.UtcNow;
            await Task.WhenAll(_schedules.Where(s => s.Value.DueAt <= now).Select(s => FireAsync(app, s.Key, s.Value)));
        }
    }

    private async Task FireAsync(AppConnection app, (string Type, string Id, string Name, bool Timer) key, Schedule schedule)
    {
        var (type, id, name, timer) = key;
        var period = _options.SchedulerPeriods && schedule.Period > TimeSpan.Zero ? "@every " + GoDuration(schedule.Period) : schedule.PeriodText;
        var body = timer
            ? new JsonObject { ["callback"] = schedule.Callback, ["data"] = schedule.Data?.DeepClone(), ["dueTime"] = schedule.DueTimeText, ["period"] = period }
            : new JsonObject { ["dueTime"] = schedule.DueTimeText, ["period"] = period, ["data"] = schedule.Data?.DeepClone() };
        var cancel = false;
        var turn = Turn(type, id);
        await turn.WaitAsync();
        try
        {
            _active[(type, id)] = true;
            using var call = new HttpRequestMessage(HttpMethod.Put, new Uri(app.Url, $"/actors/{type}/{id}/method/{(timer ? "timer" : "remind")}/{name}"))
            {
                Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            using var response = await SendToAppAsync(call);
            // 1.14+: the app may stop its reminder with this header (ref §3).
            cancel = response.Headers.TryGetValues("X-DaprReminderCancel", out var values) && values.Contains("true", StringComparer.OrdinalIgnoreCase);
        }
        catch (HttpRequestException)
        {
            // Logged by a real sidecar; the schedule continues.
        }
        finally
        {
            turn.Release();
        }

        var left = schedule.Repetitions - 1;
        if (cancel || schedule.Period <= TimeSpan.Zero || left <= 0)
        {
            _schedules.TryRemove(new KeyValuePair<(string, string, string, bool), Schedule>(key, schedule));
            return;
        }

        _schedules.TryUpdate(key, schedule with { DueAt = DateTimeOffset.UtcNow + schedule.Period, Repetitions = left }, schedule);
    }

    private static string GoDuration(TimeSpan duration) =>
        $"{(long)duration.TotalHours}h{duration.Minutes}m{duration.Seconds + (duration.Milliseconds / 1000.0):0.###}s";

    private async Task<string> SendToAppAsync(HttpMethod method, Uri appUrl, string path, string? body, string? contentType, bool ensure200)
    {
        using var request = new HttpRequestMessage(method, new Uri(appUrl, path));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType ?? "application/json");
        }

        using var response = await SendToAppAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (ensure200 && response.StatusCode != HttpStatusCode.OK)
        {
            throw new HttpRequestException($"{method} {path} answered {(int)response.StatusCode}: {text}", null, response.StatusCode);
        }

        return text;
    }

    /// <summary>Every call to the app carries <c>APP_API_TOKEN</c> when set (ref §4 "Tokens").</summary>
    private async Task<HttpResponseMessage> SendToAppAsync(HttpRequestMessage request)
    {
        if (_options.AppApiToken is { } token)
        {
            request.Headers.TryAddWithoutValidation(TokenHeader, token);
        }

        try
        {
            var response = await _app.SendAsync(request, _stopping.Token);
            AppCalls.Enqueue((request.Method.Method, request.RequestUri!.AbsolutePath, (int)response.StatusCode));
            return response;
        }
        catch
        {
            AppCalls.Enqueue((request.Method.Method, request.RequestUri!.AbsolutePath, 0));
            throw;
        }
    }

    private enum Answer
    {
        Success,
        Retry,
        Drop,
    }

    private sealed record AppConnection(Uri Url, IReadOnlyList<JsonObject> Subscriptions, IReadOnlyList<string> ActorTypes);

    private sealed record Schedule(
        DateTimeOffset DueAt, TimeSpan Period, int? Repetitions, string DueTimeText, string PeriodText, JsonNode? Data, string? Callback);

    /// <summary>One partition of a topic: its messages in order and the one worker that drains it.</summary>
    private sealed class Partition(string topic, string key)
    {
        private readonly Lock _lock = new();
        private readonly Queue<string> _messages = new();
        private bool _draining;

        public string Topic { get; } = topic;

        public string Key { get; } = key;

        public int Attempts { get; set; }

        public void Add(string message)
        {
            lock (_lock)
            {
                _messages.Enqueue(message);
            }
        }

        public bool TryPeek(out string message)
        {
            lock (_lock)
            {
                return _messages.TryPeek(out message!);
            }
        }

        public void Remove()
        {
            lock (_lock)
            {
                _messages.Dequeue();
                Attempts = 0;
            }
        }

        public void Kick(FakeDaprSidecar sidecar)
        {
            lock (_lock)
            {
                if (_draining || _messages.Count == 0 || sidecar._connection is null)
                {
                    return;
                }

                _draining = true;
            }

            _ = Task.Run(() => sidecar.DrainAsync(this));
        }

        public void Done(FakeDaprSidecar sidecar)
        {
            lock (_lock)
            {
                _draining = false;
            }

            // A message may have arrived between the last peek and now.
            Kick(sidecar);
        }
    }
}
