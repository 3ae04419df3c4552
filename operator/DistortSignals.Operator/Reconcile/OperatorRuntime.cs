using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using DistortSignals.Operator.Kube;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Operator.Reconcile;

/// <summary>
/// The pipeline of one leadership term (reference/kubernetes-api.md section 1, "Pipeline"): a watcher per
/// controller feeds a dedup cache keyed by object (generation, deletionTimestamp and finalizers, so our own
/// status writes cause no reconcile), and one on the kind of children it owns queues the owner of a child that
/// changed; the queue hands keys to workers that re-GET the object and run the
/// controller, failures are requeued with backoff, and every object is resynced each ResyncPeriod. All of it
/// stops when the token given to <see cref="RunAsync"/> is cancelled, that is when leadership is lost.
/// </summary>
public sealed class OperatorRuntime(KubeClient client, IReadOnlyList<IController> controllers, OperatorOptions options, ILogger logger)
{
    private volatile Term? term;

    private sealed record Term(WorkQueue Queue, ConcurrentDictionary<ObjectKey, string> Seen);

    /// <summary>
    /// Reconciles every known object of <paramref name="kind"/> called <paramref name="name"/> now, for example on
    /// breaker.changed (which names the account, not its namespace); does nothing while not leading.
    /// </summary>
    public int Nudge(ResourceKind kind, string name)
    {
        if (term is not { } current)
        {
            return 0;
        }

        var keys = current.Seen.Keys.Where(k => k.Kind == kind.Plural && k.Name == name).ToList();
        foreach (var key in keys)
        {
            current.Queue.Enqueue(key);
        }

        return keys.Count;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var queue = new WorkQueue();
        var seen = new ConcurrentDictionary<ObjectKey, string>();
        term = new Term(queue, seen);
        var failures = new ConcurrentDictionary<ObjectKey, int>();
        var byKind = controllers.ToDictionary(c => c.Kind.Plural);
        var tasks = new List<Task>();
        foreach (var controller in controllers)
        {
            var watcher = new ResourceWatcher(client, controller.Kind, options.WatchNamespace, options.Watch, logger);
            tasks.Add(watcher.RunAsync(
                (items, _) =>
                {
                    var present = new HashSet<ObjectKey>();
                    foreach (var item in items)
                    {
                        var key = Key(controller.Kind, item);
                        present.Add(key);
                        Observe(key, item);
                    }

                    foreach (var gone in seen.Keys.Where(k => k.Kind == controller.Kind.Plural && !present.Contains(k)))
                    {
                        seen.TryRemove(gone, out var _);
                    }

                    return ValueTask.CompletedTask;
                },
                (e, _) =>
                {
                    var key = Key(controller.Kind, e.Object);
                    if (e.Type == "DELETED")
                    {
                        seen.TryRemove(key, out var _);
                        failures.TryRemove(key, out var _);
                    }
                    else
                    {
                        Observe(key, e.Object);
                    }

                    return ValueTask.CompletedTask;
                },
                cancellationToken));
            if (controller.Owns is { } owned)
            {
                var children = new ResourceWatcher(client, owned, options.WatchNamespace, options.Watch, logger);
                tasks.Add(children.RunAsync(
                    (items, _) =>
                    {
                        foreach (var item in items)
                        {
                            ReconcileOwner(controller, item);
                        }

                        return ValueTask.CompletedTask;
                    },
                    (e, _) =>
                    {
                        ReconcileOwner(controller, e.Object);
                        return ValueTask.CompletedTask;
                    },
                    cancellationToken));
            }
        }

        for (var i = 0; i < options.Workers; i++)
        {
            tasks.Add(WorkAsync());
        }

        tasks.Add(ResyncAsync());
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            term = null;
        }

        void Observe(ObjectKey key, JsonObject item)
        {
            var fingerprint = Fingerprint(item);
            if (!seen.TryGetValue(key, out var known) || known != fingerprint)
            {
                seen[key] = fingerprint;
                queue.Enqueue(key);
            }
        }

        // A child's change (a Deployment's replicas becoming ready, or the child deleted) reconciles its known owner.
        void ReconcileOwner(IController controller, JsonObject child)
        {
            if (Owner(controller.Kind, child) is { } key && seen.ContainsKey(key))
            {
                queue.Enqueue(key);
            }
        }

        async Task ResyncAsync()
        {
            using var timer = new PeriodicTimer(options.ResyncPeriod);
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                foreach (var key in seen.Keys)
                {
                    queue.Enqueue(key);
                }
            }
        }

        async Task WorkAsync()
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var key = await queue.DequeueAsync(cancellationToken);
                var controller = byKind[key.Kind];
                try
                {
                    // Re-read: the event that queued the key may be stale by now.
                    var resource = await client.GetAsync(controller.Kind, key.Namespace, key.Name, cancellationToken);
                    TimeSpan? again = null;
                    if (resource is null)
                    {
                        seen.TryRemove(key, out _);
                    }
                    else if (resource["metadata"]?["deletionTimestamp"] is not null)
                    {
                        await controller.FinalizeAsync(resource, cancellationToken);
                    }
                    else
                    {
                        again = await controller.ReconcileAsync(resource, cancellationToken);
                    }

                    failures.TryRemove(key, out _);
                    if (again is { } delay)
                    {
                        queue.EnqueueAfter(key, delay, cancellationToken);
                    }
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    var count = failures.AddOrUpdate(key, 1, (_, n) => n + 1);
                    var delay = Backoff.Delay(count, options.ErrorBackoff, options.MaxErrorBackoff);
                    if (e is KubeApiException { IsConflict: true })
                    {
                        logger.LogDebug("reconcile {Key}: conflict ({Error}); requeued in {Delay}", key, e.Message, delay);
                    }
                    else
                    {
                        logger.LogWarning("reconcile {Key} failed ({Count}): {Error}; requeued in {Delay}", key, count, e.Message, delay);
                    }

                    queue.EnqueueAfter(key, delay, cancellationToken);
                }
                finally
                {
                    queue.Done(key);
                }
            }
        }
    }

    private static ObjectKey Key(ResourceKind kind, JsonObject item) => new(
        kind.Plural,
        item["metadata"]?["namespace"]?.GetValue<string>() ?? "",
        item["metadata"]?["name"]?.GetValue<string>() ?? "");

    /// <summary>The object of <paramref name="kind"/> that controls <paramref name="child"/> (its ownerReference with controller: true), in the child's namespace.</summary>
    private static ObjectKey? Owner(ResourceKind kind, JsonObject child)
    {
        var apiVersion = $"{kind.Group}/{kind.Version}";
        var owner = (child["metadata"]?["ownerReferences"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(o =>
            o["controller"]?.GetValue<bool>() == true && o["kind"]?.GetValue<string>() == kind.Kind && o["apiVersion"]?.GetValue<string>() == apiVersion);
        return owner?["name"]?.GetValue<string>() is { } name
            ? new ObjectKey(kind.Plural, child["metadata"]?["namespace"]?.GetValue<string>() ?? "", name)
            : null;
    }

    /// <summary>What makes a change worth a reconcile: the generation, and during deletion the deletion fields (KubeOps PR #1127).</summary>
    private static string Fingerprint(JsonObject item)
    {
        var metadata = item["metadata"];
        return $"{metadata?["uid"]}|{metadata?["generation"]}|{metadata?["deletionTimestamp"]}|{metadata?["finalizers"]?.ToJsonString()}";
    }
}
