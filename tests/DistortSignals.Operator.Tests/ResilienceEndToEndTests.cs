using DistortSignals.Operator.Kube;
using DistortSignals.Operator.Tests.Fakes;
using DistortSignals.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using static DistortSignals.Operator.Tests.Fakes.OperatorHarness;

namespace DistortSignals.Operator.Tests;

/// <summary>Leader election and watches that drop, expire or go silent. Watch tests use an hour-long resync, so only the watch can deliver.</summary>
public sealed class ResilienceEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan NoResync = TimeSpan.FromHours(1);
    private OperatorHarness h = null!;

    public async Task InitializeAsync()
    {
        h = await OperatorHarness.StartAsync();
        await h.ApplyAsync(Secret);
        await h.ApplyAsync(Account());
    }

    public async Task DisposeAsync() => await h.DisposeAsync();

    private bool DeploymentExists(string strategy) => h.Api.Get(DeploymentsPrefix, Namespace, "signals-" + strategy) is not null;

    private int LeaseRequests(string operatorName) =>
        h.Api.Requests.Count(r => r.UserAgent.Contains(operatorName, StringComparison.Ordinal) && r.Path.Contains("/leases/", StringComparison.Ordinal));

    private int Lists() => h.Api.Requests.Count(r => r.Method == "GET" && r.Path.EndsWith("/tradingstrategies", StringComparison.Ordinal) && !r.Query.Contains("watch=1", StringComparison.Ordinal));

    [Fact]
    public async Task Only_the_leader_writes_and_the_other_takes_over_when_it_stops()
    {
        var a = h.StartOperator("operator-a");
        await Eventually.UntilAsync("a leads", () => a.Elector?.IsLeader == true);
        var b = h.StartOperator("operator-b");
        await h.ApplyAsync(Strategy("first"));
        await Eventually.UntilAsync("the leader reconciles", () => DeploymentExists("first"));
        await Eventually.UntilAsync("b has campaigned a few times", () => LeaseRequests("operator-b") >= 3);

        Assert.False(b.Elector!.IsLeader);
        Assert.DoesNotContain(h.Api.Requests, r => r.UserAgent.Contains("operator-b", StringComparison.Ordinal) && !r.Path.Contains("/leases", StringComparison.Ordinal));

        await h.StopOperatorAsync(a);
        await Eventually.UntilAsync("b takes over", () => b.Elector.IsLeader);
        await h.ApplyAsync(Strategy("second"));
        await Eventually.UntilAsync("the new leader reconciles", () => DeploymentExists("second"));
        Assert.Contains(h.Api.Writes("/deployments/signals-second"), w => w.UserAgent.Contains("operator-b", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_leader_that_sees_another_holder_stops_work_at_once()
    {
        var a = h.StartOperator("operator-a");
        await Eventually.UntilAsync("a leads", () => a.Elector?.IsLeader == true);
        await Eventually.UntilAsync("an intruder holds the lease", async () =>
        {
            var lease = (await h.Kubectl.GetAsync(ResourceKind.Leases, Namespace, "distortsignals-operator", CancellationToken.None))!;
            lease["spec"]!["holderIdentity"] = "intruder";
            lease["spec"]!["leaseDurationSeconds"] = 3600;
            try
            {
                await h.Kubectl.ReplaceAsync(ResourceKind.Leases, Namespace, "distortsignals-operator", lease, CancellationToken.None);
                return true;
            }
            catch (KubeApiException conflict) when (conflict.IsConflict)
            {
                // a renewed the lease between the read and the write, as a real leader would: read it again.
                return false;
            }
        });

        await Eventually.UntilAsync("a steps down", () => !a.Elector!.IsLeader);

        // It steps down first and then waits for its work to stop; it campaigns again only after that, so writes
        // counted once it has campaigned include any that the stopping work still made.
        var seen = LeaseRequests("operator-a");
        await Eventually.UntilAsync("a campaigns again", () => LeaseRequests("operator-a") > seen);
        var writes = h.Api.Writes().Count(w => w.UserAgent.Contains("operator-a", StringComparison.Ordinal) && !w.Path.Contains("/leases", StringComparison.Ordinal));
        await h.ApplyAsync(Strategy("while-deposed"));
        var campaigned = LeaseRequests("operator-a");
        await Eventually.UntilAsync("a keeps campaigning", () => LeaseRequests("operator-a") > campaigned + 10);
        Assert.False(DeploymentExists("while-deposed"));
        Assert.Equal(writes, h.Api.Writes().Count(w => w.UserAgent.Contains("operator-a", StringComparison.Ordinal) && !w.Path.Contains("/leases", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_dropped_watch_is_resumed()
    {
        h.StartOperator(resync: NoResync);
        await h.ApplyAsync(Strategy("before"));
        await Eventually.UntilAsync("reconciled", () => DeploymentExists("before"));
        var lists = Lists();

        h.Api.DropWatches();
        await h.ApplyAsync(Strategy("after-drop"));
        await Eventually.UntilAsync("reconciled after the drop", () => DeploymentExists("after-drop"));
        Assert.Equal(lists, Lists());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_expired_resource_version_relists(bool asErrorEvent)
    {
        h.StartOperator(resync: NoResync);
        await h.ApplyAsync(Strategy("before"));
        await Eventually.UntilAsync("reconciled", () => DeploymentExists("before"));
        var lists = Lists();

        h.Api.ExpireAsErrorEvent = asErrorEvent;
        // Silence the watch first so that the operator's resourceVersion falls behind the compaction.
        h.Api.StallWatches();
        await h.ApplyAsync(Strategy("missed"));
        h.Api.Compact();
        h.Api.DropWatches();
        await Eventually.UntilAsync("the operator relisted", () => Lists() > lists);
        await Eventually.UntilAsync("the change made while expired is reconciled", () => DeploymentExists("missed"));
    }

    [Fact]
    public async Task A_silent_watch_is_abandoned_after_the_idle_timeout()
    {
        h.StartOperator(resync: NoResync);
        await h.ApplyAsync(Strategy("before"));
        await Eventually.UntilAsync("reconciled", () => DeploymentExists("before"));

        h.Api.StallWatches();
        await h.ApplyAsync(Strategy("while-silent"));
        await Eventually.UntilAsync("reconciled through a new watch", () => DeploymentExists("while-silent"));
    }

    [Fact]
    public async Task Transient_server_errors_are_retried()
    {
        using var client = new KubeClient(KubeConnection.ForServer(h.Api.Url), "test", "test", NullLogger.Instance);
        h.Api.FailNext(2);
        var account = await client.GetAsync(ResourceKind.BrokerAccounts, Namespace, "paper-main", CancellationToken.None);
        Assert.NotNull(account);

        h.Api.FailNext(10);
        var error = await Assert.ThrowsAsync<KubeApiException>(() => client.GetAsync(ResourceKind.BrokerAccounts, Namespace, "paper-main", CancellationToken.None));
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, error.Status);
        h.Api.FailNext(0);
    }

    [Fact]
    public async Task A_stale_resource_version_is_a_conflict()
    {
        var account = (await h.GetAsync(ResourceKind.BrokerAccounts, "paper-main"))!;
        await h.ApplyAsync(Account(extra: "  directiveTtlSeconds: 30"));
        var error = await Assert.ThrowsAsync<KubeApiException>(() => h.Kubectl.ReplaceAsync(ResourceKind.BrokerAccounts, Namespace, "paper-main", account, CancellationToken.None));
        Assert.True(error.IsConflict);
    }
}
