using System.Collections.Concurrent;
using System.Text.Json;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.InProcess;
using DistortSignals.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DistortSignals.Platform.Tests.InProcess;

public sealed class ActorRuntimeTests
{
    private const string Type = "Account";

    [Fact]
    public async Task Calls_to_one_actor_take_turns_with_its_reminders_while_other_actors_run_in_parallel()
    {
        await using var platform = await StartAsync();
        var probe = platform.Get<Probe>();
        await InvokeAsync(platform, "a", "remind", new ReminderRequest("work", 0, 5));

        await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Task.Run(() => InvokeAsync(platform, "a", "work"))));
        await Eventually.UntilAsync("the reminder took turns too", () => probe.ReminderWork >= 3);
        await InvokeAsync(platform, "a", "unremind", new ReminderRequest("work", 0, 0));

        Assert.Equal(1, probe.MaxInTurn);
        // Each waits until the other has entered: with one turn for both ids this would time out.
        await Task.WhenAll(InvokeAsync(platform, "a", "rendezvous"), InvokeAsync(platform, "b", "rendezvous"));
    }

    [Fact]
    public async Task An_actor_is_activated_once_before_its_first_call()
    {
        await using var platform = await StartAsync();

        await InvokeAsync(platform, "a", "add", 1);
        await InvokeAsync(platform, "a", "add", 1);
        await InvokeAsync(platform, "b", "add", 1);

        Assert.Equal(["a", "b"], platform.Get<Probe>().Activations.Order());
    }

    [Fact]
    public async Task State_saved_by_calls_survives_a_new_runtime_and_a_throwing_call_changes_nothing()
    {
        string connectionString;
        await using (var first = await StartAsync())
        {
            connectionString = first.ConnectionString;
            await InvokeAsync(first, "a", "add", 2);
            await InvokeAsync(first, "a", "add", 3);
            await Assert.ThrowsAsync<InvalidOperationException>(() => InvokeAsync(first, "a", "add-then-fail", 100));
            Assert.Equal(5, await InvokeAsync(first, "a", "get"));
        }

        await using var second = await StartAsync(connectionString: connectionString);
        Assert.Equal(5, await InvokeAsync(second, "a", "get"));
        Assert.Equal(0, await InvokeAsync(second, "b", "get"));
        Assert.Equal(1, await second.CountAsync("SELECT count(*) FROM platform.state WHERE key = 'Account||a||count' AND value = '5'"));
    }

    [Fact]
    public async Task An_idle_actor_is_deactivated_and_comes_back_with_its_state()
    {
        await using var platform = await StartAsync(o => o.ActorIdleTimeout = TimeSpan.FromMilliseconds(50));
        var runtime = platform.Get<InProcessActorRuntime>();
        await InvokeAsync(platform, "a", "add", 4);

        await Eventually.UntilAsync("the idle actor is deactivated", () => runtime.ActiveActorCount == 0);

        Assert.Equal(4, await InvokeAsync(platform, "a", "get"));
        Assert.Equal(["a", "a"], platform.Get<Probe>().Activations);
    }

    [Fact]
    public async Task Unknown_methods_and_actor_types_are_refused()
    {
        await using var platform = await StartAsync();
        var invoker = platform.Get<IActorInvoker>();

        await Assert.ThrowsAsync<ActorMethodNotFoundException>(() => invoker.InvokeMethodAsync(Type, "a", "nope", null, CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => invoker.InvokeMethodAsync("Nobody", "a", "get", null, CancellationToken.None));
    }

    [Fact]
    public async Task A_one_shot_reminder_fires_once_with_its_data_and_is_removed()
    {
        await using var platform = await StartAsync();
        var probe = platform.Get<Probe>();

        await InvokeAsync(platform, "a", "remind", new ReminderRequest("close", 30, 0, "EOD"));

        await Eventually.UntilAsync("the reminder fired", () => probe.Fired.Count == 1);
        await Eventually.UntilAsync("the one-shot reminder is removed", async () => await platform.CountAsync("SELECT count(*) FROM platform.reminders") == 0);
        Assert.Equal([("a", "close", "EOD")], probe.Fired);
    }

    [Fact]
    public async Task A_due_reminder_registered_by_one_runtime_is_fired_by_the_next_one_on_the_same_database()
    {
        string connectionString;
        await using (var stopped = await StartAsync(start: false))
        {
            connectionString = stopped.ConnectionString;
            await stopped.Get<IActorReminders>().RegisterReminderAsync(
                Type, "a", "close", JsonSerializer.SerializeToElement("EOD"), TimeSpan.Zero, TimeSpan.Zero, CancellationToken.None);
        }

        await using var restarted = await StartAsync(connectionString: connectionString);

        await Eventually.UntilAsync("the new runtime fired the reminder", () => restarted.Get<Probe>().Fired.Count == 1);
        Assert.Equal([("a", "close", "EOD")], restarted.Get<Probe>().Fired);
    }

    [Fact]
    public async Task A_periodic_reminder_keeps_firing_through_failures_until_it_is_unregistered()
    {
        await using var platform = await StartAsync();
        var probe = platform.Get<Probe>();

        // "flaky" throws on every other fire; the schedule must go on regardless.
        await InvokeAsync(platform, "a", "remind", new ReminderRequest("flaky", 0, 20));
        await Eventually.UntilAsync("the reminder fired several times", () => probe.Fired.Count >= 4);
        await InvokeAsync(platform, "a", "unremind", new ReminderRequest("flaky", 0, 0));
        var firedWhenUnregistered = probe.Fired.Count;

        // A later one-shot marks time: by when it fires, the periodic one would have fired several times more.
        await InvokeAsync(platform, "a", "remind", new ReminderRequest("marker", 150, 0));
        await Eventually.UntilAsync("the marker fired", () => probe.Fired.Any(f => f.Name == "marker"));

        // One fire may have been claimed just before the unregistration.
        Assert.InRange(probe.Fired.Count(f => f.Name == "flaky"), 4, firedWhenUnregistered + 1);
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM platform.reminders"));
    }

    private static Task<TestPlatform> StartAsync(Action<InProcessPlatformOptions>? options = null, string? connectionString = null, bool start = true) =>
        TestPlatform.StartAsync(
            services =>
            {
                services.AddSingleton<Probe>();
                services.AddSingleton(new ActorRegistration(Type, (host, provider) => new AccountActor(host, provider.GetRequiredService<Probe>())));
            },
            options,
            connectionString,
            start);

    private static async Task<int> InvokeAsync<T>(TestPlatform platform, string id, string method, T argument)
    {
        var result = await platform.Get<IActorInvoker>().InvokeMethodAsync(
            Type, id, method, JsonSerializer.SerializeToElement(argument, PlatformJson.Options), CancellationToken.None);
        return result?.GetInt32() ?? 0;
    }

    private static Task<int> InvokeAsync(TestPlatform platform, string id, string method) => InvokeAsync<object?>(platform, id, method, null);

    private sealed record ReminderRequest(string Name, int DueMilliseconds, int PeriodMilliseconds, string? Data = null);

    /// <summary>What the test actors saw, shared by all their instances.</summary>
    private sealed class Probe
    {
        private int _inTurn;
        private int _maxInTurn;
        private int _reminderWork;
        private int _rendezvous;

        public ConcurrentQueue<string> Activations { get; } = new();

        public ConcurrentQueue<(string ActorId, string Name, string? Data)> Fired { get; } = new();

        public int MaxInTurn => Volatile.Read(ref _maxInTurn);

        public int ReminderWork => Volatile.Read(ref _reminderWork);

        public async Task WorkAsync(bool fromReminder)
        {
            var inTurn = Interlocked.Increment(ref _inTurn);
            if (inTurn > _maxInTurn)
            {
                Interlocked.Exchange(ref _maxInTurn, inTurn);
            }

            await Task.Delay(2);
            Interlocked.Decrement(ref _inTurn);
            if (fromReminder)
            {
                Interlocked.Increment(ref _reminderWork);
            }
        }

        public Task RendezvousAsync()
        {
            Interlocked.Increment(ref _rendezvous);
            return Eventually.UntilAsync("both actors entered", () => Volatile.Read(ref _rendezvous) >= 2, TimeSpan.FromSeconds(5));
        }
    }

    private sealed class AccountActor(ActorHost host, Probe probe) : Actor(host)
    {
        public override Task OnActivateAsync(CancellationToken cancellationToken)
        {
            probe.Activations.Enqueue(Id);
            return Task.CompletedTask;
        }

        public override async Task<JsonElement?> InvokeMethodAsync(string method, JsonElement? argument, CancellationToken cancellationToken)
        {
            var (_, count) = await StateManager.TryGetStateAsync<int>("count", cancellationToken);
            switch (method)
            {
                case "get":
                    return JsonSerializer.SerializeToElement(count);
                case "add":
                    await StateManager.SetStateAsync("count", count + argument!.Value.GetInt32(), cancellationToken);
                    return JsonSerializer.SerializeToElement(count + argument.Value.GetInt32());
                case "add-then-fail":
                    await StateManager.SetStateAsync("count", count + argument!.Value.GetInt32(), cancellationToken);
                    throw new InvalidOperationException("the broker rejected the order");
                case "work":
                    await probe.WorkAsync(fromReminder: false);
                    return null;
                case "rendezvous":
                    await probe.RendezvousAsync();
                    return null;
                case "remind":
                    var request = argument!.Value.Deserialize<ReminderRequest>(PlatformJson.Options)!;
                    await RegisterReminderAsync(request.Name, request.Data is null ? null : JsonSerializer.SerializeToElement(request.Data),
                        TimeSpan.FromMilliseconds(request.DueMilliseconds), TimeSpan.FromMilliseconds(request.PeriodMilliseconds), cancellationToken);
                    return null;
                case "unremind":
                    await UnregisterReminderAsync(argument!.Value.Deserialize<ReminderRequest>(PlatformJson.Options)!.Name, cancellationToken);
                    return null;
                default:
                    throw new ActorMethodNotFoundException(Host.ActorType, method);
            }
        }

        public override async Task ReceiveReminderAsync(string reminderName, JsonElement? data, CancellationToken cancellationToken)
        {
            if (reminderName == "work")
            {
                await probe.WorkAsync(fromReminder: true);
                return;
            }

            probe.Fired.Enqueue((Id, reminderName, data?.GetString()));
            if (reminderName == "flaky" && probe.Fired.Count % 2 == 1)
            {
                throw new InvalidOperationException("the feed is down");
            }
        }
    }
}
