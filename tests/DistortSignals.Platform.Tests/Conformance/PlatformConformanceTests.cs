using System.Text.Json;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.State;
using DistortSignals.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static DistortSignals.Platform.Tests.Conformance.ConformanceModule;

namespace DistortSignals.Platform.Tests.Conformance;

/// <summary>A platform started for one test: its services, and a restart that keeps the database (and, on Dapr, the sidecar).</summary>
public interface IPlatformUnderTest : IAsyncDisposable
{
    IServiceProvider Services { get; }

    Task RestartAsync();
}

/// <summary>
/// The platform behaviours every module relies on (DESIGN.md sections 1 and 2), written once and run against
/// each platform by a subclass that says how to start it. A new behaviour, or a role's end-to-end flow, is a
/// test here with its modules registered through <see cref="StartAsync"/>, and then runs on both platforms.
/// </summary>
public abstract class PlatformConformanceTests
{
    private readonly ConformanceProbe _probe = new();

    private protected abstract Task<IPlatformUnderTest> StartAsync(Action<IServiceCollection> configure);

    [Fact]
    public async Task Events_of_one_key_are_handled_in_the_order_they_were_added_to_the_outbox()
    {
        await using var platform = await StartAsync();
        var events = Enumerable.Range(0, 30).Select(i => Fill($"fill-{i:00}", $"acct-{i % 3}", i)).ToList();

        await AddToOutboxAsync(platform, events);

        await UntilEffectsAsync(platform, Consumer, 30);
        var handled = await EffectsAsync(platform, Consumer);
        foreach (var subject in events.Select(e => e.Subject).Distinct())
        {
            Assert.Equal(events.Where(e => e.Subject == subject).Select(e => e.Id), handled.Where(h => h.Subject == subject).Select(h => h.EventId));
        }
    }

    [Fact]
    public async Task An_event_published_again_has_one_effect_and_runs_its_handler_once()
    {
        await using var platform = await StartAsync();
        var publisher = platform.Services.GetRequiredService<IEventPublisher>();

        // What a relay that crashed between publishing and marking does: the same event again.
        await publisher.PublishEventAsync(Topic, Fill("fill-1", "acct-1"), CancellationToken.None);
        await publisher.PublishEventAsync(Topic, Fill("fill-1", "acct-1"), CancellationToken.None);
        await publisher.PublishEventAsync(Topic, Fill("fill-2", "acct-1"), CancellationToken.None);

        // fill-2 comes after both copies of fill-1 on the same key.
        await UntilEffectsAsync(platform, Consumer, 2);
        Assert.Equal(["fill-1", "fill-2"], (await EffectsAsync(platform, Consumer)).Select(e => e.EventId));
        Assert.Equal(1, _probe.Calls[$"{Consumer}:fill-1"]);
    }

    [Fact]
    public async Task A_failing_event_is_delivered_again_until_it_succeeds()
    {
        _probe.Behaviour = (consumer, e, attempt) => e.Id == "fill-1" && attempt switch
        {
            1 => throw new TimeoutException("broker busy"),
            2 => true,
            _ => false,
        } ? DeliveryOutcome.Retry : DeliveryOutcome.Success;
        await using var platform = await StartAsync();

        await AddToOutboxAsync(platform, [Fill("fill-1", "acct-1"), Fill("fill-2", "acct-1")]);

        await UntilEffectsAsync(platform, Consumer, 2);
        Assert.Equal(["fill-1", "fill-2"], (await EffectsAsync(platform, Consumer)).Select(e => e.EventId));
        Assert.Equal(3, _probe.Calls[$"{Consumer}:fill-1"]);
        Assert.Empty(await EffectsAsync(platform, Graveyard));
    }

    [Fact]
    public async Task A_dropped_event_goes_to_the_dead_letter_topic_and_the_key_goes_on()
    {
        _probe.Behaviour = (consumer, e, _) => consumer == Consumer && e.Id == "poison" ? DeliveryOutcome.Drop : DeliveryOutcome.Success;
        await using var platform = await StartAsync();

        await AddToOutboxAsync(platform, [Fill("poison", "acct-1"), Fill("after", "acct-1")]);

        await UntilEffectsAsync(platform, Graveyard, 1);
        await UntilEffectsAsync(platform, Consumer, 1);
        Assert.Equal(["poison"], (await EffectsAsync(platform, Graveyard)).Select(e => e.EventId));
        Assert.Equal(["after"], (await EffectsAsync(platform, Consumer)).Select(e => e.EventId));
        Assert.Equal(1, _probe.Calls[$"{Consumer}:poison"]);
    }

    [Fact]
    public async Task An_event_that_keeps_failing_ends_on_the_dead_letter_topic_and_the_key_goes_on()
    {
        _probe.Behaviour = (consumer, e, _) => consumer == Consumer && e.Id == "stuck" ? DeliveryOutcome.Retry : DeliveryOutcome.Success;
        await using var platform = await StartAsync();

        await AddToOutboxAsync(platform, [Fill("stuck", "acct-1"), Fill("after", "acct-1")]);

        await UntilEffectsAsync(platform, Consumer, 1);
        await UntilEffectsAsync(platform, Graveyard, 1);
        Assert.Equal(["stuck"], (await EffectsAsync(platform, Graveyard)).Select(e => e.EventId));
        Assert.True(_probe.Calls[$"{Consumer}:stuck"] > 1, "the failing event was retried before it was dead-lettered");
    }

    [Fact]
    public async Task A_save_or_delete_with_a_stale_etag_is_refused()
    {
        await using var platform = await StartAsync();
        var store = platform.Services.GetRequiredService<IStateStore>();

        await store.SaveStateAsync("limits", new Limits(100), CancellationToken.None);
        var (first, firstETag) = await store.GetStateAndETagAsync<Limits>("limits", CancellationToken.None);
        Assert.True(await store.TrySaveStateAsync("limits", new Limits(200), firstETag, CancellationToken.None));
        var (second, secondETag) = await store.GetStateAndETagAsync<Limits>("limits", CancellationToken.None);

        Assert.Equal(100, first!.Max);
        Assert.Equal(200, second!.Max);
        Assert.NotEqual(firstETag, secondETag);
        Assert.DoesNotContain('"', secondETag!);
        Assert.False(await store.TrySaveStateAsync("limits", new Limits(300), firstETag, CancellationToken.None));
        Assert.False(await store.TrySaveStateAsync("limits", new Limits(300), "not-a-uuid", CancellationToken.None));
        Assert.False(await store.TryDeleteStateAsync("limits", firstETag!, CancellationToken.None));
        Assert.Equal(200, (await store.GetStateAndETagAsync<Limits>("limits", CancellationToken.None)).Value!.Max);
        Assert.True(await store.TryDeleteStateAsync("limits", secondETag!, CancellationToken.None));
        Assert.Equal((null, null), await store.GetStateAndETagAsync<Limits>("limits", CancellationToken.None));
    }

    [Fact]
    public async Task A_state_transaction_applies_all_operations_or_none()
    {
        await using var platform = await StartAsync();
        var store = platform.Services.GetRequiredService<IStateStore>();
        await store.SaveStateAsync("a", 1, CancellationToken.None);
        await store.SaveStateAsync("b", 2, CancellationToken.None);
        var (_, aETag) = await store.GetStateAndETagAsync<int>("a", CancellationToken.None);
        await store.SaveStateAsync("a", 10, CancellationToken.None);

        var conflict = await Assert.ThrowsAsync<StateConcurrencyException>(() => store.ExecuteStateTransactionAsync(
            [new StateTransactionRequest("c", "3", StateOperationType.Upsert), new StateTransactionRequest("a", "11", StateOperationType.Upsert, aETag)],
            CancellationToken.None));
        Assert.Equal("a", conflict.Key);
        Assert.Equal([("a", "10"), ("b", "2"), ("c", null)], await ValuesAsync(store, "a", "b", "c"));

        var (_, current) = await store.GetStateAndETagAsync<int>("a", CancellationToken.None);
        await store.ExecuteStateTransactionAsync(
            [new StateTransactionRequest("c", "3", StateOperationType.Upsert), new StateTransactionRequest("a", "11", StateOperationType.Upsert, current),
             new StateTransactionRequest("b", null, StateOperationType.Delete)],
            CancellationToken.None);
        Assert.Equal([("a", "11"), ("b", null), ("c", "3")], await ValuesAsync(store, "a", "b", "c"));
    }

    [Fact]
    public async Task Calls_to_one_actor_take_turns_and_its_state_is_saved_after_each()
    {
        await using var platform = await StartAsync();
        var actors = platform.Services.GetRequiredService<IActorInvoker>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => actors.InvokeMethodAsync(ActorType, "acct-1", "add", JsonSerializer.SerializeToElement(1), CancellationToken.None)));
        await actors.InvokeMethodAsync(ActorType, "acct-2", "add", JsonSerializer.SerializeToElement(5), CancellationToken.None);

        Assert.Equal(1, _probe.MaxRunning["acct-1"]);
        Assert.Equal(8, (await actors.InvokeMethodAsync(ActorType, "acct-1", "get", null, CancellationToken.None))!.Value.GetInt32());
        Assert.Equal(5, (await actors.InvokeMethodAsync(ActorType, "acct-2", "get", null, CancellationToken.None))!.Value.GetInt32());
        await Assert.ThrowsAsync<ActorMethodNotFoundException>(() => actors.InvokeMethodAsync(ActorType, "acct-1", "withdraw", null, CancellationToken.None));
    }

    [Fact]
    public async Task Actor_state_and_a_reminder_survive_a_restart()
    {
        await using var platform = await StartAsync();
        var actors = platform.Services.GetRequiredService<IActorInvoker>();
        await actors.InvokeMethodAsync(ActorType, "acct-1", "add", JsonSerializer.SerializeToElement(3), CancellationToken.None);
        await actors.InvokeMethodAsync(ActorType, "acct-1", "remind", JsonSerializer.SerializeToElement(new { reason = "daily-reset" }), CancellationToken.None);

        await platform.RestartAsync();

        await Eventually.UntilAsync("the reminder fired after the restart", () => !_probe.Reminders.IsEmpty);
        Assert.Equal([("acct-1", "ping", """{"reason":"daily-reset"}""")], _probe.Reminders);
        actors = platform.Services.GetRequiredService<IActorInvoker>();
        Assert.Equal(3, (await actors.InvokeMethodAsync(ActorType, "acct-1", "get", null, CancellationToken.None))!.Value.GetInt32());
    }

    private Task<IPlatformUnderTest> StartAsync() => StartAsync(services => Register(services, _probe));

    private static async Task AddToOutboxAsync(IPlatformUnderTest platform, IReadOnlyList<CloudEvent> events)
    {
        var dataSource = platform.Services.GetRequiredService<NpgsqlDataSource>();
        await Eventually.UntilAsync("the module's tables exist", async () =>
        {
            await using var check = dataSource.CreateCommand("SELECT to_regclass('conformance.outbox') IS NOT NULL");
            return (bool)(await check.ExecuteScalarAsync())!;
        });
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await platform.Services.GetRequiredService<IOutbox>().AddRangeAsync(transaction, Schema, Topic, events, CancellationToken.None);
        await transaction.CommitAsync();
    }

    private static Task UntilEffectsAsync(IPlatformUnderTest platform, string consumer, int count) =>
        Eventually.UntilAsync($"{consumer} recorded {count} effects", async () => (await EffectsAsync(platform, consumer)).Count >= count);

    private static async Task<List<(string EventId, string Subject)>> EffectsAsync(IPlatformUnderTest platform, string consumer)
    {
        await using var command = platform.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(
            "SELECT event_id, subject FROM conformance.effects WHERE consumer = @consumer ORDER BY n");
        command.Parameters.AddWithValue("consumer", consumer);
        var effects = new List<(string, string)>();
        try
        {
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                effects.Add((reader.GetString(0), reader.GetString(1)));
            }
        }
        catch (PostgresException missing) when (missing.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            // The module's migrations have not run yet.
        }

        return effects;
    }

    private static async Task<List<(string Key, string? Value)>> ValuesAsync(IStateStore store, params string[] keys) =>
        [.. (await store.GetBulkStateAsync(keys, CancellationToken.None)).Select(i => (i.Key, i.Value))];

    private sealed record Limits(int Max);
}
