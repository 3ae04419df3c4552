using System.Text.Json.Nodes;
using DistortSignals.Operator.Controllers;
using DistortSignals.Operator.Entities;
using DistortSignals.Operator.Kube;
using DistortSignals.Operator.Reconcile;

namespace DistortSignals.Operator.Tests;

/// <summary>The queue, conditions and apply-needed check on their own.</summary>
public sealed class ReconcileUnitTests
{
    private static readonly ObjectKey Key = new("tradingstrategies", "ns", "a");

    [Fact]
    public async Task A_key_is_queued_once_and_never_handed_out_while_running()
    {
        var queue = new WorkQueue();
        queue.Enqueue(Key);
        queue.Enqueue(Key);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        Assert.Equal(Key, await queue.DequeueAsync(timeout.Token));

        queue.Enqueue(Key);
        queue.Enqueue(Key);
        using var quick = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queue.DequeueAsync(quick.Token));

        queue.Done(Key);
        Assert.Equal(Key, await queue.DequeueAsync(timeout.Token));
        queue.Done(Key);
        using var empty = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queue.DequeueAsync(empty.Token));
    }

    [Fact]
    public void A_condition_keeps_its_transition_time_until_its_status_changes()
    {
        var t0 = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var first = Conditions.Set(null, [("Ready", true, "Running", "1 of 1")], 1, t0);
        var same = Conditions.Set(first, [("Ready", true, "Running", "2 of 2")], 2, t0.AddMinutes(5));
        var changed = Conditions.Set(same, [("Ready", false, "ReplicasNotReady", "0 of 2")], 2, t0.AddMinutes(9));

        Assert.Equal(t0, same[0].LastTransitionTime);
        Assert.Equal(2, same[0].ObservedGeneration);
        Assert.Equal(t0.AddMinutes(9), changed[0].LastTransitionTime);
        Assert.Equal(ConditionStatus.False, changed[0].Status);
    }

    [Fact]
    public void Equal_statuses_compare_equal_whatever_the_spelling_of_times()
    {
        var stored = JsonNode.Parse("""{"status":{"phase":"Running","observedGeneration":3,"lastSignal":"2025-01-01T10:00:00Z","conditions":[]}}""")!.AsObject();
        var read = StatusJson.Read<TradingStrategyStatus>(stored);
        var fresh = new TradingStrategyStatus { Phase = StrategyPhase.Running, ObservedGeneration = 3, LastSignal = new DateTimeOffset(2025, 1, 1, 11, 0, 0, TimeSpan.FromHours(1)) };
        Assert.True(StatusJson.Same(read, fresh));
        Assert.False(StatusJson.Same(read, fresh with { ObservedGeneration = 4 }));
    }

    [Fact]
    public void Contains_is_true_only_when_applying_would_change_nothing()
    {
        var actual = JsonNode.Parse("""{"metadata":{"name":"x","uid":"u","labels":{"a":"1","b":"2"}},"spec":{"replicas":1,"list":[{"k":1,"extra":true}]}}""");
        Assert.True(Resources.Contains(actual, JsonNode.Parse("""{"metadata":{"labels":{"a":"1"}},"spec":{"list":[{"k":1}]}}""")));
        Assert.False(Resources.Contains(actual, JsonNode.Parse("""{"spec":{"replicas":0}}""")));
        Assert.False(Resources.Contains(actual, JsonNode.Parse("""{"spec":{"list":[{"k":1},{"k":2}]}}""")));
        Assert.False(Resources.Contains(null, JsonNode.Parse("""{"spec":{}}""")));
    }

    [Fact]
    public void Lease_timings_are_checked()
    {
        new LeaderElectionOptions().Validate();
        Assert.Throws<ArgumentException>(() => new LeaderElectionOptions { RenewDeadline = TimeSpan.FromSeconds(20) }.Validate());
        Assert.Throws<ArgumentException>(() => new LeaderElectionOptions { RetryPeriod = TimeSpan.FromSeconds(9) }.Validate());
    }

    [Fact]
    public void Backoff_grows_to_its_cap_with_jitter()
    {
        var first = Backoff.Delay(1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        var late = Backoff.Delay(20, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        Assert.InRange(first.TotalSeconds, 0.8, 1.2);
        Assert.InRange(late.TotalSeconds, 24, 36);
    }
}
