using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Operator.Kube;

/// <summary>Lease timings; LeaseDuration &gt; RenewDeadline &gt; 1.2 × RetryPeriod, as client-go requires.</summary>
public sealed record LeaderElectionOptions
{
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    public void Validate()
    {
        if (!(LeaseDuration > RenewDeadline && RenewDeadline > RetryPeriod * 1.2))
        {
            throw new ArgumentException($"lease timings must satisfy leaseDuration > renewDeadline > 1.2 × retryPeriod; got {LeaseDuration}, {RenewDeadline}, {RetryPeriod}");
        }
    }
}

/// <summary>
/// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it (reference/kubernetes-api.md,
/// "Lease leader election"): expiry is judged on our clock from when we last saw the record change; a PUT
/// carries the resourceVersion, so of two candidates only one wins. Work runs under a token that is cancelled
/// at once when leadership is lost: another holder is seen, or no renewal succeeds within RenewDeadline.
/// </summary>
public sealed class LeaderElector(KubeClient client, string @namespace, string name, string identity, LeaderElectionOptions options, ILogger logger)
{
    private string? observedRecord;
    private DateTimeOffset observedAt;

    public string Identity => identity;

    public bool IsLeader { get; private set; }

    /// <summary>Campaigns, runs <paramref name="lead"/> while leading, and campaigns again after losing, until cancelled.</summary>
    public async Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken cancellationToken)
    {
        options.Validate();
        while (!cancellationToken.IsCancellationRequested)
        {
            while (!await TryAcquireOrRenewAsync(cancellationToken))
            {
                await Task.Delay(Jittered(options.RetryPeriod), cancellationToken);
            }

            IsLeader = true;
            logger.LogInformation("{Identity} became the leader ({Lease})", identity, name);
            using var leading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var work = Task.Run(() => lead(leading.Token), CancellationToken.None);
            var lastRenew = DateTimeOffset.UtcNow;
            try
            {
                while (!cancellationToken.IsCancellationRequested && !work.IsCompleted)
                {
                    await Task.WhenAny(Task.Delay(options.RetryPeriod, cancellationToken), work);
                    if (work.IsCompleted || cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }

                    var renewed = await TryRenewAsync(cancellationToken);
                    if (renewed is true)
                    {
                        lastRenew = DateTimeOffset.UtcNow;
                    }
                    else if (renewed is null || DateTimeOffset.UtcNow - lastRenew > options.RenewDeadline)
                    {
                        logger.LogWarning("{Identity} lost the leadership of {Lease}; stopping work", identity, name);
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            finally
            {
                IsLeader = false;
                await leading.CancelAsync();
                await Settle(work);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                await ReleaseAsync();
            }
        }
    }

    /// <summary>True when renewed, false when it failed for now, null when another holder has the lease.</summary>
    private async Task<bool?> TryRenewAsync(CancellationToken cancellationToken)
    {
        try
        {
            var lease = await client.GetAsync(ResourceKind.Leases, @namespace, name, cancellationToken);
            if (lease is null || Holder(lease) != identity)
            {
                return null;
            }

            return await WriteAsync(lease, leader: true, cancellationToken);
        }
        catch (KubeApiException e) when (e.IsConflict)
        {
            return false;
        }
        catch (Exception e) when (e is HttpRequestException or KubeApiException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogDebug("renewing {Lease} failed: {Error}", name, e.Message);
            return false;
        }
    }

    private async Task<bool> TryAcquireOrRenewAsync(CancellationToken cancellationToken)
    {
        try
        {
            var lease = await client.GetAsync(ResourceKind.Leases, @namespace, name, cancellationToken);
            var now = DateTimeOffset.UtcNow;
            if (lease is null)
            {
                await client.CreateAsync(ResourceKind.Leases, @namespace, NewLease(now), cancellationToken);
                return true;
            }

            var record = lease["spec"]?.ToJsonString() ?? "";
            if (record != observedRecord)
            {
                observedRecord = record;
                observedAt = now;
            }

            var holder = Holder(lease);
            var duration = TimeSpan.FromSeconds(lease["spec"]?["leaseDurationSeconds"]?.GetValue<int>() ?? (int)options.LeaseDuration.TotalSeconds);
            if (!string.IsNullOrEmpty(holder) && holder != identity && observedAt + duration > now)
            {
                return false;
            }

            return await WriteAsync(lease, leader: holder == identity, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or KubeApiException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogDebug("acquiring {Lease} failed: {Error}", name, e.Message);
            return false;
        }
    }

    /// <summary>PUT with the lease's resourceVersion: a 409 means someone else wrote first.</summary>
    private async Task<bool> WriteAsync(JsonObject lease, bool leader, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var spec = lease["spec"] as JsonObject ?? [];
        var transitions = spec["leaseTransitions"]?.GetValue<int>() ?? 0;
        var updated = (JsonObject)lease.DeepClone();
        updated["spec"] = new JsonObject
        {
            ["holderIdentity"] = identity,
            ["leaseDurationSeconds"] = (int)options.LeaseDuration.TotalSeconds,
            ["acquireTime"] = leader ? spec["acquireTime"]?.DeepClone() ?? MicroTime(now) : MicroTime(now),
            ["renewTime"] = MicroTime(now),
            ["leaseTransitions"] = leader ? transitions : transitions + 1,
        };
        try
        {
            var written = await client.ReplaceAsync(ResourceKind.Leases, @namespace, name, updated, cancellationToken);
            observedRecord = written["spec"]?.ToJsonString();
            observedAt = now;
            return true;
        }
        catch (KubeApiException e) when (e.IsConflict)
        {
            return false;
        }
    }

    /// <summary>On shutdown, hand the lease over at once: an empty holder with a one-second duration.</summary>
    private async Task ReleaseAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var lease = await client.GetAsync(ResourceKind.Leases, @namespace, name, timeout.Token);
            if (lease is null || Holder(lease) != identity)
            {
                return;
            }

            lease["spec"]!["holderIdentity"] = "";
            lease["spec"]!["leaseDurationSeconds"] = 1;
            await client.ReplaceAsync(ResourceKind.Leases, @namespace, name, lease, timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException or KubeApiException or OperationCanceledException)
        {
            logger.LogDebug("releasing {Lease} failed: {Error}", name, e.Message);
        }
    }

    private JsonObject NewLease(DateTimeOffset now) => new()
    {
        ["apiVersion"] = ResourceKind.Leases.ApiVersion,
        ["kind"] = ResourceKind.Leases.Kind,
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = @namespace },
        ["spec"] = new JsonObject
        {
            ["holderIdentity"] = identity,
            ["leaseDurationSeconds"] = (int)options.LeaseDuration.TotalSeconds,
            ["acquireTime"] = MicroTime(now),
            ["renewTime"] = MicroTime(now),
            ["leaseTransitions"] = 0,
        },
    };

    private static string? Holder(JsonObject lease) => lease["spec"]?["holderIdentity"]?.GetValue<string>();

    private static string MicroTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static TimeSpan Jittered(TimeSpan period) => period * (1 + (Random.Shared.NextDouble() * 0.2));

    private async Task Settle(Task work)
    {
        try
        {
            await work;
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "leader work failed");
        }
    }
}
