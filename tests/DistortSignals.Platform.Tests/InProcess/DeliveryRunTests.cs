using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DistortSignals.Platform.Tests.InProcess;

/// <summary>The dispatcher handles runs of one subject's deliveries in one transaction without changing the delivery semantics.</summary>
public sealed class DeliveryRunTests
{
    private const string Schema = "orders";
    private const string Topic = "fills";
    private const string Consumer = "ledger";
    private const string BackgroundConsumer = "marker";

    private static readonly Migration[] OrdersMigrations =
    [
        MessagingMigrations.Outbox(1),
        MessagingMigrations.HandledEvents(2),
        new(3, "effects", "CREATE TABLE effects (n bigserial PRIMARY KEY, event_id text NOT NULL, txid bigint NOT NULL)"),
    ];

    [Fact]
    public async Task A_run_of_events_of_one_subject_is_handled_in_order_in_few_transactions()
    {
        var ids = Enumerable.Range(1, 200).Select(n => $"fill-{n}").ToArray();
        var connectionString = await QueueAsync(ids.Select(id => Fill(id, "acct-1")));

        await using var platform = await StartAsync(connectionString, RecordEffect, o => o.DeliveryBatchSize = 50);

        await Eventually.UntilAsync("every fill is handled", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        var effects = await ReadEffectsAsync(platform);
        Assert.Equal(ids, effects.Select(e => e.EventId));
        var transactions = effects.GroupBy(e => e.Txid).Select(g => g.Count()).ToList();
        Assert.All(transactions, size => Assert.InRange(size, 1, 50));
        Assert.True(transactions.Count <= 8, $"{ids.Length} events took {transactions.Count} transactions");
    }

    [Fact]
    public async Task A_failure_in_a_run_commits_the_events_before_it_holds_back_the_later_ones_and_retries_it_first()
    {
        var calls = new ConcurrentQueue<string>();
        var failed = 0;
        var ids = Enumerable.Range(1, 10).Select(n => $"fill-{n}").ToArray();
        var connectionString = await QueueAsync(ids.Select(id => Fill(id, "acct-1")));
        using var counted = new CountedDeliveries();

        await using var platform = await StartAsync(connectionString, async (e, t, c) =>
        {
            calls.Enqueue(e.Id);
            var outcome = await RecordEffect(e, t, c);
            return e.Id == "fill-5" && Interlocked.Exchange(ref failed, 1) == 0 ? throw new TimeoutException("broker busy") : outcome;
        });

        await Eventually.UntilAsync("every fill is handled", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        // The run's first pass, rolled back at fill-5's failure; its second pass, which records that failure without
        // calling fill-5 again; then the retry, which goes one at a time from fill-5 on.
        Assert.Equal(
            ["fill-1", "fill-2", "fill-3", "fill-4", "fill-5", "fill-1", "fill-2", "fill-3", "fill-4", "fill-5", "fill-6", "fill-7", "fill-8", "fill-9", "fill-10"],
            calls);
        var effects = await ReadEffectsAsync(platform);
        Assert.Equal(ids, effects.Select(e => e.EventId));
        // The first four were committed by the failing run; the retry of fill-5 ran in a later transaction.
        Assert.Single(effects.Take(4).Select(e => e.Txid).Distinct());
        Assert.True(effects[4].Txid > effects[3].Txid, "the retry of fill-5 is a transaction after the run that failed");
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM platform.dead_letters"));
        // Counted after each commit, so awaited: ten successes, fill-5's one retry, and two runs done one at a time
        // (the failing run's second pass, and the retry's run, which goes one at a time because it has a failed delivery).
        await Eventually.UntilAsync("the successes are counted", () => counted.Of(platform, "platform.deliveries", "success") == 10);
        Assert.Equal(1, counted.Of(platform, "platform.deliveries", "retry"));
        Assert.Equal(0, counted.Of(platform, "platform.deliveries", "dead_letter"));
        Assert.Equal(2, counted.Of(platform, "platform.delivery.runs.redone"));
    }

    [Fact]
    public async Task A_dropped_event_in_a_run_goes_to_the_dead_letters_and_the_later_events_follow()
    {
        var ids = Enumerable.Range(1, 6).Select(n => $"fill-{n}").ToArray();
        var connectionString = await QueueAsync(ids.Select(id => Fill(id, "acct-1")));
        using var counted = new CountedDeliveries();

        await using var platform = await StartAsync(connectionString, async (e, t, c) =>
            e.Id == "fill-3" ? DeliveryOutcome.Drop : await RecordEffect(e, t, c));

        await Eventually.UntilAsync("every fill is done", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        Assert.Equal(["fill-1", "fill-2", "fill-4", "fill-5", "fill-6"], (await ReadEffectsAsync(platform)).Select(e => e.EventId));
        Assert.Equal(1, await platform.CountAsync("SELECT count(*) FROM platform.dead_letters WHERE event_id = 'fill-3' AND attempts = 1"));
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM orders.handled_events WHERE event_id = 'fill-3'"));
        await Eventually.UntilAsync("the successes are counted", () => counted.Of(platform, "platform.deliveries", "success") == 5);
        Assert.Equal(1, counted.Of(platform, "platform.deliveries", "dead_letter"));
        Assert.Equal(0, counted.Of(platform, "platform.deliveries", "retry"));
        Assert.Equal(1, counted.Of(platform, "platform.delivery.runs.redone"));
    }

    [Fact]
    public async Task One_run_takes_many_subjects_and_a_failure_holds_back_only_its_own_subject()
    {
        var subjects = Enumerable.Range(1, 5).Select(n => $"acct-{n}").ToArray();
        var published = Enumerable.Range(1, 4).SelectMany(n => subjects.Select(s => Fill($"{s}-{n}", s))).ToList();
        var connectionString = await QueueAsync(published);
        var calls = new ConcurrentQueue<string>();
        var failed = 0;

        // One run at a time, so the first run holds every subject.
        await using var platform = await StartAsync(connectionString, async (e, t, c) =>
        {
            calls.Enqueue(e.Id);
            var outcome = await RecordEffect(e, t, c);
            return e.Id == "acct-2-2" && Interlocked.Exchange(ref failed, 1) == 0 ? throw new TimeoutException("broker busy") : outcome;
        }, o => o.DeliveryParallelism = 1);

        await Eventually.UntilAsync("every fill is handled", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        var effects = await ReadEffectsAsync(platform);
        foreach (var subject in subjects)
        {
            Assert.Equal(published.Where(e => e.Subject == subject).Select(e => e.Id), effects.Where(e => e.EventId.StartsWith(subject + "-", StringComparison.Ordinal)).Select(e => e.EventId));
        }

        // The first run handled every subject's events but acct-2's from its failure on, and committed them together.
        var firstRun = effects.Where(e => e.Txid == effects[0].Txid).Select(e => e.EventId).ToHashSet();
        Assert.Equal(published.Select(e => e.Id).Where(id => id is not ("acct-2-2" or "acct-2-3" or "acct-2-4")).ToHashSet(), firstRun);
        // The first pass up to the failure (rolled back), the second pass (acct-2-2's failure recorded without a call),
        // then the retry of acct-2 from its failure on.
        Assert.Equal(["acct-2-1", "acct-2-2", "acct-2-1", "acct-2-2", "acct-2-3", "acct-2-4"], calls.Where(id => id.StartsWith("acct-2-", StringComparison.Ordinal)));
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM platform.dead_letters"));
    }

    [Theory]
    [InlineData("acct-1-1")] // shown by the next delivery's first statement
    [InlineData("acct-2-2")] // the run's last: shown by the statement that deletes the handled deliveries
    public async Task A_handler_that_swallows_a_database_error_fails_its_own_delivery_and_no_other(string culprit)
    {
        CloudEvent[] published = [Fill("acct-1-1", "acct-1"), Fill("acct-2-1", "acct-2"), Fill("acct-1-2", "acct-1"), Fill("acct-2-2", "acct-2")];
        var connectionString = await QueueAsync(published);

        // One run at a time, so the first run holds both subjects; the culprit fails every attempt, two in all.
        await using var platform = await StartAsync(connectionString, async (e, t, c) =>
        {
            var outcome = await RecordEffect(e, t, c);
            if (e.Id == culprit)
            {
                try
                {
                    await using var bad = new NpgsqlCommand("SELECT 1 / 0", t.Connection, t);
                    await bad.ExecuteScalarAsync(c);
                }
                catch (PostgresException)
                {
                    // Swallowed: the transaction is failed now, and the handler still answers success.
                }
            }

            return outcome;
        }, o =>
        {
            o.DeliveryParallelism = 1;
            o.MaxAttempts = 2;
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(10);
        });

        await Eventually.UntilAsync("every fill is done", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        var effects = (await ReadEffectsAsync(platform)).Select(e => e.EventId).ToList();
        foreach (var subject in new[] { "acct-1", "acct-2" })
        {
            Assert.Equal(
                published.Where(e => e.Subject == subject && e.Id != culprit).Select(e => e.Id),
                effects.Where(id => id.StartsWith(subject + "-", StringComparison.Ordinal)));
        }

        Assert.Equal(1, await platform.CountAsync($"SELECT count(*) FROM platform.dead_letters WHERE event_id = '{culprit}' AND attempts = 2 AND error LIKE '%25P02%'"));
        Assert.Equal(1, await platform.CountAsync("SELECT count(*) FROM platform.dead_letters"));
        Assert.Equal(0, await platform.CountAsync($"SELECT count(*) FROM orders.handled_events WHERE event_id = '{culprit}'"));
    }

    [Fact]
    public async Task Stopping_in_a_runs_first_pass_commits_what_was_handled_and_leaves_the_rest_unrecorded()
    {
        var ids = Enumerable.Range(1, 4).Select(n => $"fill-{n}").ToArray();
        var connectionString = await QueueAsync(ids.Select(id => Fill(id, "acct-1")));
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The first pass claims all four and records them as handled; the stop comes while fill-1's handler runs.
        await using (var platform = await StartAsync(connectionString, async (e, t, c) =>
        {
            entered.TrySetResult();
            await release.Task;
            return await RecordEffect(e, t, c);
        }))
        {
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var stopping = platform.Get<DeliveryDispatcher>().StopAsync(CancellationToken.None);
            release.SetResult();
            await stopping.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(["fill-1"], (await ReadEffectsAsync(platform)).Select(e => e.EventId));
            Assert.Equal(1, await platform.CountAsync("SELECT count(*) FROM orders.handled_events"));
            Assert.Equal(3, await platform.CountAsync("SELECT count(*) FROM platform.deliveries"));
        }

        // A restart handles the other three: their records did not outlive the stop.
        await using var restarted = await StartAsync(connectionString, RecordEffect);
        await Eventually.UntilAsync("every fill is handled", async () => await restarted.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        Assert.Equal(ids, (await ReadEffectsAsync(restarted)).Select(e => e.EventId));
    }

    [Fact]
    public async Task Events_added_to_the_outbox_together_reach_every_subscriber_once_and_in_order()
    {
        var order = new ConcurrentDictionary<(string Consumer, string Subject), ConcurrentQueue<string>>();
        Messaging.EventHandler Record(string consumer) => (e, t, c) =>
        {
            order.GetOrAdd((consumer, e.Subject), _ => new ConcurrentQueue<string>()).Enqueue(e.Id);
            return Task.FromResult(DeliveryOutcome.Success);
        };
        var fills = Enumerable.Range(1, 150).Select(n => Fill($"fill-{n}", $"acct-{n % 3}")).ToList();
        await using var platform = await TestPlatform.StartAsync(services =>
        {
            services.AddSchemaMigrations(Schema, OrdersMigrations);
            services.AddSingleton(new OutboxRegistration(Schema));
            services.AddSingleton(new EventSubscription(Consumer, Schema, Topic, Record(Consumer)));
            services.AddSingleton(new EventSubscription("mailer", Schema, Topic, Record("mailer")));
        });

        await AddToOutboxAsync(platform, fills);

        await Eventually.UntilAsync("both consumers handled every fill", () => order.Values.Sum(q => q.Count) == 2 * fills.Count);
        foreach (var ((_, subject), handled) in order)
        {
            Assert.Equal(fills.Where(f => f.Subject == subject).Select(f => f.Id), handled);
        }

        Assert.Equal(6, order.Count);
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM orders.outbox WHERE sent_at IS NULL"));
    }

    [Fact]
    public async Task Two_dispatchers_over_one_database_never_handle_a_subject_concurrently_or_out_of_order()
    {
        var subjects = Enumerable.Range(1, 4).Select(n => $"acct-{n}").ToArray();
        var published = Enumerable.Range(1, 60).SelectMany(n => subjects.Select(s => Fill($"{s}-{n}", s))).ToList();
        var connectionString = await QueueAsync(published);
        var running = new ConcurrentDictionary<string, int>();
        var order = new ConcurrentDictionary<string, ConcurrentQueue<string>>();
        var byDispatcher = new ConcurrentDictionary<int, int>();
        var overlaps = 0;
        Messaging.EventHandler Handler(int dispatcher) => async (e, t, c) =>
        {
            if (running.AddOrUpdate(e.Subject, 1, (_, n) => n + 1) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            try
            {
                await Task.Delay(1, c);
                order.GetOrAdd(e.Subject, _ => new ConcurrentQueue<string>()).Enqueue(e.Id);
                byDispatcher.AddOrUpdate(dispatcher, 1, (_, n) => n + 1);
                return DeliveryOutcome.Success;
            }
            finally
            {
                running.AddOrUpdate(e.Subject, 0, (_, n) => n - 1);
            }
        };

        // Short runs and frequent polls, so that the two keep contending for the same subjects.
        static void Contended(InProcessPlatformOptions o)
        {
            o.DeliveryBatchSize = 5;
            o.PollInterval = TimeSpan.FromMilliseconds(5);
        }

        var platforms = await Task.WhenAll(
            StartAsync(connectionString, Handler(1), Contended),
            StartAsync(connectionString, Handler(2), Contended));
        try
        {
            await Eventually.UntilAsync("every fill is handled", async () => await platforms[0].CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        }
        finally
        {
            foreach (var platform in platforms)
            {
                await platform.DisposeAsync();
            }
        }

        Assert.Equal(0, overlaps);
        foreach (var subject in subjects)
        {
            Assert.Equal(published.Where(e => e.Subject == subject).Select(e => e.Id), order[subject]);
        }

        Assert.Equal(2, byDispatcher.Count);
    }

    [Fact]
    public async Task A_background_subscription_waits_for_the_other_runs_to_finish()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ledgerHandled = 0;
        var ledgerHandledWhenMarked = new ConcurrentQueue<int>();
        var fills = Enumerable.Range(1, 6).Select(n => Fill($"fill-{n}", $"acct-{n}")).ToList();
        await using var platform = await StartAsync(
            null,
            async (e, t, c) =>
            {
                if (e.Id == "fill-1")
                {
                    entered.TrySetResult();
                    await release.Task;
                }

                Interlocked.Increment(ref ledgerHandled);
                return DeliveryOutcome.Success;
            },
            o => o.BackgroundMaxWait = TimeSpan.FromMinutes(10),
            background: (e, t, c) =>
            {
                ledgerHandledWhenMarked.Enqueue(Volatile.Read(ref ledgerHandled));
                return RecordEffect(e, t, c);
            });

        await AddToOutboxAsync(platform, fills);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // What must not happen cannot be awaited: a run started beside the held one would reach its handler well within this.
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        var markedWhileHeld = (await ReadEffectsAsync(platform)).Count;
        release.SetResult();

        await Eventually.UntilAsync("the background consumer handled every fill", async () => (await ReadEffectsAsync(platform)).Count == fills.Count);
        Assert.Equal(0, markedWhileHeld);
        Assert.All(ledgerHandledWhenMarked, handled => Assert.Equal(fills.Count, handled));
    }

    [Fact]
    public async Task A_background_subscription_held_back_past_its_maximum_wait_runs_beside_the_others()
    {
        var marked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var markedBeside = new ConcurrentQueue<bool>();
        await using var platform = await StartAsync(
            null,
            async (e, t, c) =>
            {
                // Held until the background consumer has run (or for far longer than its maximum wait).
                markedBeside.Enqueue(await Task.WhenAny(marked.Task, Task.Delay(TimeSpan.FromSeconds(30), c)) == marked.Task);
                return DeliveryOutcome.Success;
            },
            o => o.BackgroundMaxWait = TimeSpan.FromMilliseconds(300),
            background: (e, t, c) =>
            {
                marked.TrySetResult();
                return Task.FromResult(DeliveryOutcome.Success);
            });
        var clock = Stopwatch.StartNew();

        await AddToOutboxAsync(platform, [Fill("fill-1", "acct-1")]);
        await marked.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var waited = clock.Elapsed;

        await Eventually.UntilAsync("both consumers handled the fill", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        Assert.Equal([true], markedBeside);
        Assert.True(waited >= TimeSpan.FromMilliseconds(300), $"the background consumer ran after {waited.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task An_on_commit_subscription_is_given_each_event_at_its_commit_in_commit_order_and_its_queued_delivery_runs_no_handler()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var given = new ConcurrentQueue<string>();
        await using var platform = await StartAsync(
            null,
            async (e, t, c) =>
            {
                if (e.Id == "fill-1")
                {
                    entered.TrySetResult();
                    // Bounded, so that a failing test ends instead of waiting on this handler at the platform's stop.
                    await Task.WhenAny(release.Task, Task.Delay(TimeSpan.FromSeconds(30), c));
                }

                return DeliveryOutcome.Success;
            },
            o => o.BackgroundMaxWait = TimeSpan.FromMinutes(10),
            background: RecordEffect,
            onCommit: e => given.Enqueue(e.Id));

        // The ledger's run of fill-1 is held, and with it every queued delivery of the background consumer: from here on,
        // only the commits' notifications can give it anything.
        await UntilListeningAsync(platform);
        await AddToOutboxAsync(platform, [Fill("fill-1", "acct-1")]);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await using (var connection = await platform.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await platform.Get<IOutbox>().AddAsync(transaction, Schema, Topic, Fill("fill-0", "acct-2"), CancellationToken.None);
            await transaction.RollbackAsync();
        }

        await AddToOutboxAsync(platform, [Fill("fill-2", "acct-2")]);
        await AddToOutboxAsync(platform, [Fill("fill-3", "acct-1"), Fill("fill-4", "acct-3")]);

        await Eventually.UntilAsync("the commits gave the background consumer four events", () => given.Count == 4);
        // Notifications come in commit order: the rolled-back fill-0's would have come before fill-2's.
        Assert.Equal(["fill-1", "fill-2", "fill-3", "fill-4"], given);
        Assert.Empty(await ReadEffectsAsync(platform));
        release.SetResult();
        await Eventually.UntilAsync("every queued delivery is done", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        Assert.Empty(await ReadEffectsAsync(platform));
        Assert.Equal(4, await platform.CountAsync($"SELECT count(*) FROM orders.handled_events WHERE consumer = '{BackgroundConsumer}'"));
        Assert.Equal(4, given.Count);
    }

    [Fact]
    public async Task An_event_too_large_to_notify_or_refused_at_its_commit_comes_by_its_queued_delivery_once()
    {
        var smallGiven = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var given = new ConcurrentQueue<string>();
        var largeAttempts = 0;
        await using var platform = await StartAsync(
            null,
            async (e, t, c) =>
            {
                // Holds the background consumer's queued deliveries until the notifications have come (they come in
                // commit order, so the small event's is the last of the three).
                await Task.WhenAny(smallGiven.Task, Task.Delay(TimeSpan.FromSeconds(30), c));
                return DeliveryOutcome.Success;
            },
            o => o.BackgroundMaxWait = TimeSpan.FromMinutes(10),
            // The large event's handler fails once: its retry must still reach the handler.
            background: (e, t, c) => e.Id == "large" && Interlocked.Increment(ref largeAttempts) == 1
                ? Task.FromResult(DeliveryOutcome.Retry)
                : RecordEffect(e, t, c),
            onCommit: e =>
            {
                if (e.Id == "refused")
                {
                    throw new InvalidOperationException("not taken at the commit");
                }

                given.Enqueue(e.Id);
                if (e.Id == "small")
                {
                    smallGiven.TrySetResult();
                }
            });
        var large = CloudEvent.Create("large", "gateway", Topics.Events.ExecutionReported, "acct-1", DateTimeOffset.UnixEpoch,
            new { note = new string('x', InProcessOutbox.MaxNotifiedBytes) });

        await UntilListeningAsync(platform);
        await AddToOutboxAsync(platform, [large, Fill("refused", "acct-2"), Fill("small", "acct-3")]);

        await Eventually.UntilAsync("every queued delivery is done", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        Assert.True(smallGiven.Task.IsCompleted);
        Assert.Equal(["small"], given);
        Assert.Equal(["large", "refused"], (await ReadEffectsAsync(platform)).Select(e => e.EventId).Order());
        Assert.Equal(2, largeAttempts);
    }

    [Fact]
    public async Task A_run_handler_is_given_the_runs_new_events_in_one_call_and_they_commit_together()
    {
        var published = Enumerable.Range(1, 4).SelectMany(n => new[] { "acct-1", "acct-2", "acct-3" }.Select(s => Fill($"{s}-{n}", s))).ToList();
        var connectionString = await QueueAsync(published);
        await MarkHandledAsync(connectionString, "acct-2-2");
        var runs = new ConcurrentQueue<string[]>();

        // One run at a time, so the first run holds every subject.
        await using var platform = await StartAsync(
            connectionString,
            (e, _, _) => throw new InvalidOperationException($"{e.Id} went to the handler of one event"),
            o => o.DeliveryParallelism = 1,
            runHandler: async (events, t, c) =>
            {
                runs.Enqueue([.. events.Select(e => e.Id)]);
                foreach (var e in events)
                {
                    await RecordEffect(e, t, c);
                }

                return DeliveryOutcome.Success;
            });

        await Eventually.UntilAsync("every fill is handled", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        // In queue order, without the event handled before, which is acknowledged without a call.
        var expected = published.Select(e => e.Id).Where(id => id != "acct-2-2").ToList();
        Assert.Equal(expected, Assert.Single(runs));
        var effects = await ReadEffectsAsync(platform);
        Assert.Equal(expected, effects.Select(e => e.EventId));
        Assert.Single(effects.Select(e => e.Txid).Distinct());
        Assert.Equal(published.Count, await platform.CountAsync($"SELECT count(*) FROM orders.handled_events WHERE consumer = '{Consumer}'"));
    }

    [Theory]
    [InlineData("throws")]
    [InlineData("retry")]
    [InlineData("drop")]
    public async Task A_run_handler_that_fails_has_its_run_done_again_one_delivery_at_a_time(string failure)
    {
        var published = Enumerable.Range(1, 4).SelectMany(n => new[] { "acct-1", "acct-2" }.Select(s => Fill($"{s}-{n}", s))).ToList();
        var connectionString = await QueueAsync(published);
        var runs = new ConcurrentQueue<string[]>();
        var calls = new ConcurrentQueue<string>();
        using var counted = new CountedDeliveries();

        await using var platform = await StartAsync(
            connectionString,
            async (e, t, c) =>
            {
                calls.Enqueue(e.Id);
                return e.Id == "acct-2-2" ? DeliveryOutcome.Drop : await RecordEffect(e, t, c);
            },
            o => o.DeliveryParallelism = 1,
            runHandler: async (events, t, c) =>
            {
                runs.Enqueue([.. events.Select(e => e.Id)]);
                foreach (var e in events)
                {
                    await RecordEffect(e, t, c);
                }

                // The effects above are rolled back with the run.
                return !events.Any(e => e.Id == "acct-2-2") ? DeliveryOutcome.Success
                    : failure == "throws" ? throw new TimeoutException("broker busy")
                    : failure == "retry" ? DeliveryOutcome.Retry
                    : DeliveryOutcome.Drop;
            });

        await Eventually.UntilAsync("every fill is done", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        // The whole run, refused; each of its deliveries one at a time, where acct-2-2 is dropped and holds back the rest
        // of its subject; then that rest, as a run of its own.
        Assert.Equal([[.. published.Select(e => e.Id)], ["acct-2-3", "acct-2-4"]], runs);
        Assert.Equal(["acct-1-1", "acct-2-1", "acct-1-2", "acct-2-2", "acct-1-3", "acct-1-4"], calls);
        var effects = (await ReadEffectsAsync(platform)).Select(e => e.EventId).ToList();
        Assert.Equal(published.Select(e => e.Id).Where(id => id != "acct-2-2").Order(), effects.Order());
        Assert.Equal(1, await platform.CountAsync("SELECT count(*) FROM platform.dead_letters WHERE event_id = 'acct-2-2' AND attempts = 1"));
        await Eventually.UntilAsync("the successes are counted", () => counted.Of(platform, "platform.deliveries", "success") == 7);
        Assert.Equal(1, counted.Of(platform, "platform.deliveries", "dead_letter"));
        Assert.Equal(1, counted.Of(platform, "platform.delivery.runs.redone"));
    }

    /// <summary>Records <paramref name="eventId"/> as handled by the consumer, as a delivery before a crash would have.</summary>
    private static async Task MarkHandledAsync(string connectionString, string eventId)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand("INSERT INTO orders.handled_events (consumer, topic, event_id) VALUES (@consumer, @topic, @id)");
        command.Parameters.AddWithValue("consumer", Consumer);
        command.Parameters.AddWithValue("topic", Topic);
        command.Parameters.AddWithValue("id", eventId);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Waits until the dispatcher listens for the commits' notifications: PostgreSQL sends a notification only to the
    /// connections listening when its transaction commits.
    /// </summary>
    private static Task UntilListeningAsync(TestPlatform platform) =>
        Eventually.UntilAsync("the dispatcher listens", async () => await platform.CountAsync($"""
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND state = 'idle' AND query LIKE 'LISTEN %{InProcessOutbox.EventsChannel}%'
            """) == 1);

    /// <summary>Adds <paramref name="events"/> to the outbox in one transaction, which queues them for every consumer at once.</summary>
    private static async Task AddToOutboxAsync(TestPlatform platform, IReadOnlyList<CloudEvent> events)
    {
        await using var connection = await platform.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await platform.Get<IOutbox>().AddRangeAsync(transaction, Schema, Topic, events, CancellationToken.None);
        await transaction.CommitAsync();
    }

    /// <summary>Creates a database and queues <paramref name="events"/> for the consumer without running any dispatcher; returns its connection string.</summary>
    private static async Task<string> QueueAsync(IEnumerable<CloudEvent> events)
    {
        await using var platform = await StartAsync(null, (_, _, _) => throw new InvalidOperationException("no dispatcher runs here"), start: false);
        var publisher = platform.Get<IEventPublisher>();
        foreach (var cloudEvent in events)
        {
            await publisher.PublishEventAsync(Topic, cloudEvent, CancellationToken.None);
        }

        return platform.ConnectionString;
    }

    /// <summary>
    /// The platform with <paramref name="handler"/> (and <paramref name="runHandler"/>) as the consumer's, and <paramref name="background"/> as a background
    /// consumer's when given, with <paramref name="onCommit"/> as its <see cref="EventSubscription.OnCommit"/>.
    /// </summary>
    private static Task<TestPlatform> StartAsync(
        string? connectionString,
        Messaging.EventHandler handler,
        Action<InProcessPlatformOptions>? options = null,
        bool start = true,
        Messaging.EventHandler? background = null,
        Action<CloudEvent>? onCommit = null,
        EventRunHandler? runHandler = null) =>
        TestPlatform.StartAsync(
            services =>
            {
                services.AddSchemaMigrations(Schema, OrdersMigrations);
                services.AddSingleton(new EventSubscription(Consumer, Schema, Topic, handler, RunHandler: runHandler));
                if (background is not null)
                {
                    services.AddSingleton(new EventSubscription(BackgroundConsumer, Schema, Topic, background, Background: true, OnCommit: onCommit));
                }
            },
            options,
            connectionString,
            start);

    /// <summary>
    /// What the in-process platforms' meters count, each measurement kept with its meter: test classes run in
    /// parallel, and each platform's meter is its own. Listening starts before the platform, which counts at once.
    /// </summary>
    private sealed class CountedDeliveries : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(Meter Meter, string Name, long Value, string? Outcome)> _counted = new();

        public CountedDeliveries()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == InProcessMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                string? outcome = null;
                foreach (var tag in tags)
                {
                    outcome = tag.Key == "outcome" ? tag.Value as string : outcome;
                }

                _counted.Enqueue((instrument.Meter, instrument.Name, value, outcome));
            });
            _listener.Start();
        }

        /// <summary>The sum of what <paramref name="platform"/>'s meter counted on <paramref name="name"/>, of one outcome when given.</summary>
        public long Of(TestPlatform platform, string name, string? outcome = null)
        {
            var meter = platform.Get<InProcessMetrics>().Deliveries.Meter;
            return _counted.Where(c => ReferenceEquals(c.Meter, meter) && c.Name == name && (outcome is null || c.Outcome == outcome)).Sum(c => c.Value);
        }

        public void Dispose() => _listener.Dispose();
    }

    private static CloudEvent Fill(string id, string account) =>
        CloudEvent.Create(id, "gateway", Topics.Events.ExecutionReported, account, DateTimeOffset.UnixEpoch, new { lots = 1.0m });

    /// <summary>Records the event with the id of the transaction it is handled in.</summary>
    private static async Task<DeliveryOutcome> RecordEffect(CloudEvent cloudEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "INSERT INTO orders.effects (event_id, txid) VALUES (@id, txid_current())", transaction.Connection, transaction);
        command.Parameters.AddWithValue("id", cloudEvent.Id);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return DeliveryOutcome.Success;
    }

    private static async Task<List<(string EventId, long Txid)>> ReadEffectsAsync(TestPlatform platform)
    {
        var effects = new List<(string, long)>();
        await using var command = platform.DataSource.CreateCommand("SELECT event_id, txid FROM orders.effects ORDER BY n");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            effects.Add((reader.GetString(0), reader.GetInt64(1)));
        }

        return effects;
    }
}
