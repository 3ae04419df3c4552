using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Operator.Kube;

/// <summary>How watches behave; the defaults follow client-go (reference/kubernetes-api.md, "List, then watch").</summary>
public sealed record WatchOptions
{
    /// <summary>The server closes each watch after a random time in this range (client-go uses 5 to 10 minutes).</summary>
    public int MinTimeoutSeconds { get; init; } = 300;

    public int MaxTimeoutSeconds { get; init; } = 600;

    /// <summary>Our own limit on silence: bookmarks arrive about every minute, so a longer silence is a dead connection.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(150);

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(800);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// List, then watch from the list's resourceVersion, for ever: follows bookmarks, reconnects at once when the
/// server ends a watch, with backoff and jitter after errors, after an idle timeout, and relists on 410
/// (status or ERROR event). Every list hands the complete state to <c>onList</c>, so nothing missed while
/// disconnected is lost.
/// </summary>
public sealed class ResourceWatcher(KubeClient client, ResourceKind kind, string? @namespace, WatchOptions options, ILogger logger)
{
    public async Task RunAsync(
        Func<IReadOnlyList<JsonObject>, CancellationToken, ValueTask> onList,
        Func<WatchEvent, CancellationToken, ValueTask> onEvent,
        CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            string resourceVersion;
            try
            {
                var list = await client.ListAsync(kind, @namespace, cancellationToken);
                await onList(list.Items, cancellationToken);
                resourceVersion = list.ResourceVersion;
                failures = 0;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                failures++;
                logger.LogWarning("list {Kind} failed ({Error}); retrying", kind.Plural, e.Message);
                await Task.Delay(Backoff.Delay(failures, options.InitialBackoff, options.MaxBackoff), cancellationToken);
                continue;
            }

            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    var timeout = Random.Shared.Next(options.MinTimeoutSeconds, options.MaxTimeoutSeconds + 1);
                    await foreach (var e in client.WatchAsync(kind, @namespace, resourceVersion, timeout, options.IdleTimeout, cancellationToken))
                    {
                        resourceVersion = e.Object["metadata"]?["resourceVersion"]?.GetValue<string>() ?? resourceVersion;
                        failures = 0;
                        if (e.Type != "BOOKMARK")
                        {
                            await onEvent(e, cancellationToken);
                        }
                    }

                    // The server ended the watch (its timeout): resume from the last version seen, at once.
                    logger.LogDebug("watch {Kind} ended; resuming at {ResourceVersion}", kind.Plural, resourceVersion);
                }
                catch (KubeApiException e) when (e.IsGone)
                {
                    logger.LogInformation("watch {Kind}: resourceVersion {ResourceVersion} expired; relisting", kind.Plural, resourceVersion);
                    break;
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    failures++;
                    logger.LogWarning("watch {Kind} failed ({Error}); reconnecting", kind.Plural, e.Message);
                    await Task.Delay(Backoff.Delay(failures, options.InitialBackoff, options.MaxBackoff), cancellationToken);
                }
            }
        }
    }
}
