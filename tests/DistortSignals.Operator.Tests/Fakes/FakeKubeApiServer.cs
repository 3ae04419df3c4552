using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Operator.Tests.Fakes;

/// <summary>
/// A Kubernetes API server over real HTTP (Kestrel), because none can run here. It keeps these semantics of
/// reference/kubernetes-api.md section 2:
/// - one resourceVersion counter; every write sets the object's resourceVersion; PUT needs it and a stale
///   one is 409 Conflict; create of an existing name is 409 AlreadyExists;
/// - metadata.generation on kinds with a status subresource (our CRs, Deployments) rises on spec changes
///   only, and once when deletionTimestamp is first set;
/// - the status subresource: the main endpoint ignores status, /status changes only status;
/// - server-side apply (application/apply-patch+yaml, fieldManager, force): creates the object when missing,
///   merges the applied fields, and removes fields the same manager applied before and no longer sends;
/// - JSON patch (RFC 6902, with test ops: a failed test is 422) and merge patch (RFC 7386);
/// - DELETE of an object with finalizers only sets deletionTimestamp; afterwards finalizers can only be
///   removed; when the list is empty the object goes; dependents whose ownerReferences name a deleted
///   object's uid are deleted too (background garbage collection);
/// - LIST returns the collection's resourceVersion; WATCH streams newline-delimited ADDED/MODIFIED/DELETED
///   events after the given resourceVersion (or the current state as ADDED when none is given), BOOKMARKs when
///   allowed, ends at timeoutSeconds, and answers a compacted resourceVersion with 410 Gone (as the HTTP status,
///   or, when <see cref="ExpireAsErrorEvent"/>, as an ERROR event with code 410 and reason Expired);
/// - Leases are ordinary objects, so PUT with a stale resourceVersion loses with 409.
/// It does not evaluate CEL or schemas, run admission, keep managedFields, or watch across API groups.
/// </summary>
public sealed class FakeKubeApiServer : IAsyncDisposable
{
    private readonly Lock gate = new();
    private readonly Dictionary<(string Prefix, string Namespace, string Name), JsonObject> objects = [];
    private readonly Dictionary<(string Prefix, string Namespace, string Name, string Manager, string Sub), JsonObject> applied = [];
    private readonly List<(long Revision, string Prefix, string Namespace, string Line)> history = [];
    private readonly List<Watch> watches = [];
    private readonly List<Request> requests = [];
    private WebApplication? app;
    private long revision = 100;
    private long compactedThrough;
    private int failNext;

    public Uri Url { get; private set; } = null!;

    /// <summary>Answer an expired resourceVersion with an ERROR event on a 200 stream instead of an HTTP 410.</summary>
    public bool ExpireAsErrorEvent { get; set; }

    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    public sealed record Request(string Method, string Path, string Query, string UserAgent, string ContentType);

    public static async Task<FakeKubeApiServer> StartAsync()
    {
        var server = new FakeKubeApiServer();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Map("/{**path}", server.HandleAsync);
        await app.StartAsync();
        server.app = app;
        server.Url = new Uri(app.Urls.First());
        return server;
    }

    public IReadOnlyList<Request> Requests
    {
        get
        {
            lock (gate)
            {
                return [.. requests];
            }
        }
    }

    /// <summary>Writes (everything but GET) whose path contains <paramref name="pathPart"/>.</summary>
    public IReadOnlyList<Request> Writes(string pathPart = "") => [.. Requests.Where(r => r.Method != "GET" && r.Path.Contains(pathPart, StringComparison.Ordinal))];

    public JsonObject? Get(string prefix, string ns, string name)
    {
        lock (gate)
        {
            return objects.TryGetValue((prefix, ns, name), out var o) ? (JsonObject)o.DeepClone() : null;
        }
    }

    /// <summary>Every object under a prefix such as "apis/apps/v1/deployments".</summary>
    public IReadOnlyList<JsonObject> All(string prefix)
    {
        lock (gate)
        {
            return [.. objects.Where(o => o.Key.Prefix == prefix).Select(o => (JsonObject)o.Value.DeepClone())];
        }
    }

    /// <summary>Closes every open watch stream, as a dropped connection or an API server restart does.</summary>
    public void DropWatches()
    {
        lock (gate)
        {
            foreach (var watch in watches)
            {
                watch.Stop.Cancel();
            }
        }
    }

    /// <summary>Open watches stop sending anything, bookmarks included, without closing: a silent dead connection.</summary>
    public void StallWatches()
    {
        lock (gate)
        {
            foreach (var watch in watches)
            {
                watch.Stalled = true;
            }
        }
    }

    /// <summary>Forgets the history up to now, so that any older resourceVersion is expired (410).</summary>
    public void Compact()
    {
        lock (gate)
        {
            compactedThrough = revision;
            history.Clear();
        }
    }

    /// <summary>The next <paramref name="count"/> requests fail with 503.</summary>
    public void FailNext(int count)
    {
        lock (gate)
        {
            failNext = count;
        }
    }

    public int OpenWatches
    {
        get
        {
            lock (gate)
            {
                return watches.Count;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        DropWatches();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var http = context.Request;
        lock (gate)
        {
            requests.Add(new Request(http.Method, http.Path.Value ?? "", http.QueryString.Value ?? "", http.Headers.UserAgent.ToString(), http.ContentType ?? ""));
        }

        bool fail;
        lock (gate)
        {
            fail = failNext > 0;
            failNext = Math.Max(failNext - 1, 0);
        }

        if (fail)
        {
            await WriteStatusAsync(context, 503, "ServiceUnavailable", "injected failure");
            return;
        }
        if (!TryParse(http.Path.Value ?? "", out var route))
        {
            await WriteStatusAsync(context, 404, "NotFound", $"no such path {http.Path}");
            return;
        }

        var body = http.ContentLength is > 0 || http.Method is "POST" or "PUT" or "PATCH"
            ? await new StreamReader(http.Body, Encoding.UTF8).ReadToEndAsync(context.RequestAborted)
            : "";
        if (route.Name is null)
        {
            if (http.Method == "GET" && http.Query["watch"] is { Count: > 0 } w && w[0] is "1" or "true")
            {
                await WatchAsync(context, route);
                return;
            }

            var result = http.Method switch
            {
                "GET" => List(route),
                "POST" => Create(route, JsonNode.Parse(body) as JsonObject ?? []),
                _ => Error(405, "MethodNotAllowed", http.Method),
            };
            await WriteAsync(context, result);
            return;
        }

        var outcome = http.Method switch
        {
            "GET" => GetItem(route),
            "PUT" => Replace(route, JsonNode.Parse(body) as JsonObject ?? []),
            "PATCH" => Patch(route, http.ContentType ?? "", body, http.Query["fieldManager"].ToString()),
            "DELETE" => Delete(route),
            _ => Error(405, "MethodNotAllowed", http.Method),
        };
        await WriteAsync(context, outcome);
    }

    private sealed record Route(string Root, string Plural, string? Namespace, string? Name, string? Sub)
    {
        public string Prefix => $"{Root}/{Plural}";

        /// <summary>Our CRs and Deployments have a status subresource and a generation; ConfigMaps, Secrets, Leases and Events do not.</summary>
        public bool HasStatus => Root.StartsWith("apis/trading.distortsignals.io", StringComparison.Ordinal) || Root == "apis/apps/v1";
    }

    private static bool TryParse(string path, out Route route)
    {
        route = null!;
        var s = path.Trim('/').Split('/');
        int rest;
        string root;
        if (s.Length >= 2 && s[0] == "api")
        {
            root = $"api/{s[1]}";
            rest = 2;
        }
        else if (s.Length >= 3 && s[0] == "apis")
        {
            root = $"apis/{s[1]}/{s[2]}";
            rest = 3;
        }
        else
        {
            return false;
        }

        var r = s[rest..];
        if (r.Length == 1)
        {
            route = new Route(root, r[0], null, null, null);
            return true;
        }

        if (r.Length >= 3 && r[0] == "namespaces")
        {
            route = new Route(root, r[2], Uri.UnescapeDataString(r[1]), r.Length > 3 ? Uri.UnescapeDataString(r[3]) : null, r.Length > 4 ? r[4] : null);
            return true;
        }

        return false;
    }

    private sealed record Outcome(int Code, JsonObject Body);

    private static Outcome Ok(JsonObject body, int code = 200) => new(code, body);

    private static Outcome Error(int code, string reason, string message) => new(code, new JsonObject
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    });

    private Outcome List(Route route)
    {
        lock (gate)
        {
            var items = objects.Where(o => o.Key.Prefix == route.Prefix && (route.Namespace is null || o.Key.Namespace == route.Namespace))
                .OrderBy(o => o.Key.Namespace, StringComparer.Ordinal).ThenBy(o => o.Key.Name, StringComparer.Ordinal)
                .Select(o => (JsonNode)o.Value.DeepClone());
            return Ok(new JsonObject
            {
                ["kind"] = "List",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject { ["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture) },
                ["items"] = new JsonArray([.. items]),
            });
        }
    }

    private Outcome GetItem(Route route)
    {
        lock (gate)
        {
            return objects.TryGetValue((route.Prefix, route.Namespace!, route.Name!), out var o)
                ? Ok((JsonObject)o.DeepClone())
                : Error(404, "NotFound", $"{route.Plural} \"{route.Name}\" not found");
        }
    }

    private Outcome Create(Route route, JsonObject body)
    {
        lock (gate)
        {
            var name = body["metadata"]?["name"]?.GetValue<string>();
            if (name is null || route.Namespace is null)
            {
                return Error(422, "Invalid", "metadata.name: Required value");
            }

            if (objects.ContainsKey((route.Prefix, route.Namespace, name)))
            {
                return Error(409, "AlreadyExists", $"{route.Plural} \"{name}\" already exists");
            }

            return Ok(Insert(route with { Name = name }, body), 201);
        }
    }

    private JsonObject Insert(Route route, JsonObject body)
    {
        var created = (JsonObject)body.DeepClone();
        var metadata = created["metadata"] as JsonObject ?? [];
        created["metadata"] = metadata;
        metadata["namespace"] = route.Namespace;
        metadata["uid"] = Guid.NewGuid().ToString();
        metadata["creationTimestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        metadata.Remove("deletionTimestamp");
        if (route.HasStatus)
        {
            metadata["generation"] = 1L;
            created.Remove("status");
        }

        Save(route, created, "ADDED");
        return (JsonObject)created.DeepClone();
    }

    private Outcome Replace(Route route, JsonObject body)
    {
        lock (gate)
        {
            if (!objects.TryGetValue((route.Prefix, route.Namespace!, route.Name!), out var current))
            {
                return Error(404, "NotFound", $"{route.Plural} \"{route.Name}\" not found");
            }

            var version = body["metadata"]?["resourceVersion"]?.GetValue<string>();
            if (string.IsNullOrEmpty(version))
            {
                return Error(422, "Invalid", "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update");
            }

            if (version != current["metadata"]!["resourceVersion"]!.GetValue<string>())
            {
                return Error(409, "Conflict", $"Operation cannot be fulfilled on {route.Plural} \"{route.Name}\": the object has been modified; please apply your changes to the latest version and try again");
            }

            return Commit(route, current, body);
        }
    }

    private Outcome Patch(Route route, string contentType, string text, string manager)
    {
        lock (gate)
        {
            var key = (route.Prefix, route.Namespace!, route.Name!);
            objects.TryGetValue(key, out var current);
            var mediaType = contentType.Split(';')[0].Trim();
            if (mediaType == "application/apply-patch+yaml")
            {
                if (string.IsNullOrEmpty(manager))
                {
                    return Error(422, "Invalid", "fieldManager is required for apply patch");
                }

                var body = JsonNode.Parse(text) as JsonObject ?? [];
                if (current is null)
                {
                    if (route.Sub is not null)
                    {
                        return Error(404, "NotFound", $"{route.Plural} \"{route.Name}\" not found");
                    }

                    applied[(route.Prefix, route.Namespace!, route.Name!, manager, "")] = Scope(route, body);
                    return Ok(Insert(route, body), 201);
                }

                var sent = body["metadata"]?["resourceVersion"]?.GetValue<string>();
                if (sent is not null && sent != current["metadata"]!["resourceVersion"]!.GetValue<string>())
                {
                    return Error(409, "Conflict", "the object has been modified");
                }

                var appliedKey = (route.Prefix, route.Namespace!, route.Name!, manager, route.Sub ?? "");
                var scoped = Scope(route, body);
                var next = (JsonObject)current.DeepClone();
                if (applied.TryGetValue(appliedKey, out var previous))
                {
                    foreach (var path in Leaves(previous, "").Where(p => !HasPath(scoped, p)))
                    {
                        RemovePath(next, path);
                    }
                }

                Merge(next, scoped);
                applied[appliedKey] = scoped;
                return Commit(route, current, next);
            }

            if (current is null)
            {
                return Error(404, "NotFound", $"{route.Plural} \"{route.Name}\" not found");
            }

            var patched = (JsonObject)current.DeepClone();
            if (mediaType == "application/json-patch+json")
            {
                var failure = ApplyJsonPatch(patched, JsonNode.Parse(text) as JsonArray ?? []);
                if (failure is not null)
                {
                    return Error(422, "Invalid", failure);
                }
            }
            else if (mediaType == "application/merge-patch+json")
            {
                Merge(patched, JsonNode.Parse(text) as JsonObject ?? [], nullDeletes: true);
            }
            else
            {
                return Error(415, "UnsupportedMediaType", $"the media type {mediaType} is not supported");
            }

            return Commit(route, current, patched);
        }
    }

    /// <summary>What a manager owns by applying this body: status only through /status, never status on the main resource of a kind with the subresource.</summary>
    private static JsonObject Scope(Route route, JsonObject body)
    {
        var scoped = (JsonObject)body.DeepClone();
        scoped.Remove("apiVersion");
        scoped.Remove("kind");
        if (scoped["metadata"] is JsonObject m)
        {
            m.Remove("name");
            m.Remove("namespace");
            m.Remove("resourceVersion");
            if (m.Count == 0)
            {
                scoped.Remove("metadata");
            }
        }

        if (route.Sub == "status")
        {
            return new JsonObject { ["status"] = scoped["status"]?.DeepClone() };
        }

        if (route.HasStatus)
        {
            scoped.Remove("status");
        }

        return scoped;
    }

    /// <summary>Stores <paramref name="next"/> in place of <paramref name="current"/> under the subresource and deletion rules; no change, no new resourceVersion.</summary>
    private Outcome Commit(Route route, JsonObject current, JsonObject next)
    {
        var result = (JsonObject)current.DeepClone();
        if (route.Sub == "status")
        {
            result["status"] = next["status"]?.DeepClone();
        }
        else
        {
            foreach (var property in next.Where(p => p.Key != "status" || !route.HasStatus).ToList())
            {
                result[property.Key] = property.Value?.DeepClone();
            }

            foreach (var gone in result.Select(p => p.Key).Where(k => !next.ContainsKey(k) && k != "status" && k != "metadata").ToList())
            {
                result.Remove(gone);
            }

            // Identity and server-owned metadata cannot be changed by a client.
            var metadata = (JsonObject)result["metadata"]!;
            foreach (var field in new[] { "uid", "creationTimestamp", "deletionTimestamp", "generation", "namespace", "name" })
            {
                metadata[field] = current["metadata"]![field]?.DeepClone();
            }

            if (current["metadata"]!["deletionTimestamp"] is not null)
            {
                var before = Finalizers(current);
                var after = Finalizers(result);
                if (after.Except(before).Any())
                {
                    return Error(422, "Forbidden", "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted");
                }
            }
        }

        if (route.HasStatus && !JsonNode.DeepEquals(current["spec"], result["spec"]))
        {
            result["metadata"]!["generation"] = (current["metadata"]!["generation"]?.GetValue<long>() ?? 0) + 1;
        }

        result["metadata"]!["resourceVersion"] = current["metadata"]!["resourceVersion"]!.DeepClone();
        if (JsonNode.DeepEquals(current, result))
        {
            return Ok(result);
        }

        if (result["metadata"]!["deletionTimestamp"] is not null && Finalizers(result).Count == 0)
        {
            Remove(route, result);
            return Ok(result);
        }

        Save(route, result, "MODIFIED");
        return Ok((JsonObject)result.DeepClone());
    }

    private Outcome Delete(Route route)
    {
        lock (gate)
        {
            if (!objects.TryGetValue((route.Prefix, route.Namespace!, route.Name!), out var current))
            {
                return Error(404, "NotFound", $"{route.Plural} \"{route.Name}\" not found");
            }

            if (Finalizers(current).Count == 0)
            {
                Remove(route, current);
                return Ok(current);
            }

            if (current["metadata"]!["deletionTimestamp"] is null)
            {
                var next = (JsonObject)current.DeepClone();
                next["metadata"]!["deletionTimestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                if (route.HasStatus)
                {
                    next["metadata"]!["generation"] = (current["metadata"]!["generation"]?.GetValue<long>() ?? 0) + 1;
                }

                Save(route, next, "MODIFIED");
                return Ok(next);
            }

            return Ok(current);
        }
    }

    private void Remove(Route route, JsonObject last)
    {
        objects.Remove((route.Prefix, route.Namespace!, route.Name!));
        foreach (var key in applied.Keys.Where(k => k.Prefix == route.Prefix && k.Namespace == route.Namespace && k.Name == route.Name).ToList())
        {
            applied.Remove(key);
        }

        revision++;
        var gone = (JsonObject)last.DeepClone();
        gone["metadata"]!["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture);
        Publish(route, "DELETED", gone);

        // Background garbage collection of dependents.
        var uid = last["metadata"]!["uid"]!.GetValue<string>();
        var dependents = objects.Where(o => (o.Value["metadata"]?["ownerReferences"] as JsonArray ?? [])
            .Any(r => r?["uid"]?.GetValue<string>() == uid)).Select(o => o.Key).ToList();
        foreach (var (prefix, ns, name) in dependents)
        {
            var slash = prefix.LastIndexOf('/');
            Delete(new Route(prefix[..slash], prefix[(slash + 1)..], ns, name, null));
        }
    }

    private void Save(Route route, JsonObject value, string type)
    {
        revision++;
        value["metadata"]!["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture);
        objects[(route.Prefix, route.Namespace!, value["metadata"]!["name"]!.GetValue<string>())] = (JsonObject)value.DeepClone();
        Publish(route, type, value);
    }

    private void Publish(Route route, string type, JsonObject value)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = value.DeepClone() }.ToJsonString();
        history.Add((revision, route.Prefix, route.Namespace!, line));
        foreach (var watch in watches.Where(w => w.Prefix == route.Prefix && (w.Namespace is null || w.Namespace == route.Namespace)))
        {
            watch.Lines.Writer.TryWrite(line);
        }
    }

    private sealed class Watch(string prefix, string? @namespace)
    {
        public string Prefix { get; } = prefix;

        public string? Namespace { get; } = @namespace;

        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();

        public CancellationTokenSource Stop { get; } = new();

        public volatile bool Stalled;
    }

    private async Task WatchAsync(HttpContext context, Route route)
    {
        var query = context.Request.Query;
        var version = query["resourceVersion"].ToString();
        var bookmarks = query["allowWatchBookmarks"].ToString() is "true" or "1";
        var timeout = int.TryParse(query["timeoutSeconds"], CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(30);
        var watch = new Watch(route.Prefix, route.Namespace);
        Outcome? expired = null;
        lock (gate)
        {
            var from = version.Length > 0 && version != "0" ? long.Parse(version, CultureInfo.InvariantCulture) : (long?)null;
            if (from < compactedThrough)
            {
                expired = Error(410, "Expired", $"too old resource version: {from} ({compactedThrough})");
                if (ExpireAsErrorEvent)
                {
                    watch.Lines.Writer.TryWrite(new JsonObject { ["type"] = "ERROR", ["object"] = expired.Body }.ToJsonString());
                    watch.Lines.Writer.TryComplete();
                }
            }
            else if (from is { } after)
            {
                foreach (var past in history.Where(h => h.Revision > after && h.Prefix == route.Prefix && (route.Namespace is null || h.Namespace == route.Namespace)))
                {
                    watch.Lines.Writer.TryWrite(past.Line);
                }

                watches.Add(watch);
            }
            else
            {
                foreach (var o in objects.Where(o => o.Key.Prefix == route.Prefix && (route.Namespace is null || o.Key.Namespace == route.Namespace)))
                {
                    watch.Lines.Writer.TryWrite(new JsonObject { ["type"] = "ADDED", ["object"] = o.Value.DeepClone() }.ToJsonString());
                }

                watches.Add(watch);
            }
        }

        if (expired is not null && !ExpireAsErrorEvent)
        {
            await WriteAsync(context, expired);
            return;
        }

        try
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.StartAsync();
            using var end = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, watch.Stop.Token);
            end.CancelAfter(timeout);
            var lastBookmark = DateTime.UtcNow;
            while (!end.IsCancellationRequested)
            {
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(end.Token);
                tick.CancelAfter(BookmarkInterval);
                string? line = null;
                try
                {
                    if (!await watch.Lines.Reader.WaitToReadAsync(tick.Token))
                    {
                        break;
                    }

                    if (!watch.Stalled)
                    {
                        watch.Lines.Reader.TryRead(out line);
                    }
                    else
                    {
                        await Task.Delay(Timeout.Infinite, end.Token);
                    }
                }
                catch (OperationCanceledException) when (!end.IsCancellationRequested)
                {
                }

                if (watch.Stalled)
                {
                    continue;
                }

                if (line is null && bookmarks && DateTime.UtcNow - lastBookmark >= BookmarkInterval)
                {
                    string current;
                    lock (gate)
                    {
                        current = revision.ToString(CultureInfo.InvariantCulture);
                    }

                    line = new JsonObject { ["type"] = "BOOKMARK", ["object"] = new JsonObject { ["metadata"] = new JsonObject { ["resourceVersion"] = current } } }.ToJsonString();
                    lastBookmark = DateTime.UtcNow;
                }

                if (line is not null)
                {
                    await context.Response.WriteAsync(line + "\n", end.Token);
                    await context.Response.Body.FlushAsync(end.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
        finally
        {
            lock (gate)
            {
                watches.Remove(watch);
            }

            if (watch.Stop.IsCancellationRequested)
            {
                // A dropped connection: abort rather than end the chunked stream cleanly.
                context.Abort();
            }
        }
    }

    private static Task WriteAsync(HttpContext context, Outcome outcome)
    {
        context.Response.StatusCode = outcome.Code;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(outcome.Body.ToJsonString());
    }

    private static Task WriteStatusAsync(HttpContext context, int code, string reason, string message) => WriteAsync(context, Error(code, reason, message));

    private static List<string> Finalizers(JsonObject o) => [.. (o["metadata"]?["finalizers"] as JsonArray ?? []).Select(f => f!.GetValue<string>())];

    // JSON helpers: leaf paths, merge, JSON pointer, RFC 6902.

    private static IEnumerable<string> Leaves(JsonNode? node, string path) => node is JsonObject o && o.Count > 0
        ? o.SelectMany(p => Leaves(p.Value, path + "/" + Escape(p.Key)))
        : [path];

    private static bool HasPath(JsonNode root, string path)
    {
        var node = root;
        foreach (var part in path.Split('/').Skip(1).Select(Unescape))
        {
            if (node is not JsonObject o || !o.TryGetPropertyValue(part, out node))
            {
                return false;
            }
        }

        return true;
    }

    private static void RemovePath(JsonObject root, string path)
    {
        var parts = path.Split('/').Skip(1).Select(Unescape).ToList();
        JsonNode? node = root;
        foreach (var part in parts[..^1])
        {
            node = (node as JsonObject)?[part];
        }

        (node as JsonObject)?.Remove(parts[^1]);
    }

    private static void Merge(JsonObject target, JsonObject patch, bool nullDeletes = false)
    {
        foreach (var (key, value) in patch.ToList())
        {
            if (value is null && nullDeletes)
            {
                target.Remove(key);
            }
            else if (value is JsonObject child && target[key] is JsonObject existing)
            {
                Merge(existing, child, nullDeletes);
            }
            else
            {
                target[key] = value?.DeepClone();
            }
        }
    }

    private static string? ApplyJsonPatch(JsonObject root, JsonArray operations)
    {
        foreach (var operation in operations.OfType<JsonObject>())
        {
            var op = operation["op"]?.GetValue<string>();
            var path = operation["path"]?.GetValue<string>() ?? "";
            var parts = path.Split('/').Skip(1).Select(Unescape).ToList();
            JsonNode? parent = root;
            foreach (var part in parts[..^1])
            {
                parent = parent switch
                {
                    JsonObject o => o[part],
                    JsonArray a when int.TryParse(part, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                    _ => null,
                };
            }

            var last = parts[^1];
            var value = operation["value"]?.DeepClone();
            JsonNode? Current() => parent switch
            {
                JsonObject o => o[last],
                JsonArray a when int.TryParse(last, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                _ => null,
            };
            bool Exists() => parent switch
            {
                JsonObject o => o.ContainsKey(last),
                JsonArray a => int.TryParse(last, CultureInfo.InvariantCulture, out var i) && i < a.Count,
                _ => false,
            };
            switch (op)
            {
                case "test":
                    if (!Exists() || !JsonNode.DeepEquals(Current(), value))
                    {
                        return $"the server rejected our request due to an error in our request: test failed at {path}";
                    }

                    break;
                case "add":
                    if (parent is JsonObject ao)
                    {
                        ao[last] = value;
                    }
                    else if (parent is JsonArray aa)
                    {
                        if (last == "-")
                        {
                            aa.Add(value);
                        }
                        else
                        {
                            aa.Insert(int.Parse(last, CultureInfo.InvariantCulture), value);
                        }
                    }
                    else
                    {
                        return $"add: no parent at {path}";
                    }

                    break;
                case "remove" or "replace":
                    if (!Exists())
                    {
                        return $"{op}: nothing at {path}";
                    }

                    if (parent is JsonObject ro)
                    {
                        if (op == "remove")
                        {
                            ro.Remove(last);
                        }
                        else
                        {
                            ro[last] = value;
                        }
                    }
                    else if (parent is JsonArray ra)
                    {
                        var index = int.Parse(last, CultureInfo.InvariantCulture);
                        if (op == "remove")
                        {
                            ra.RemoveAt(index);
                        }
                        else
                        {
                            ra[index] = value;
                        }
                    }

                    break;
                default:
                    return $"unsupported op {op}";
            }
        }

        return null;
    }

    private static string Escape(string key) => key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static string Unescape(string part) => part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
}
