using System.Collections.Concurrent;
using System.Diagnostics;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace DistortSignals.Platform.Tests.InProcess;

public sealed class MessagingTests
{
    private const string Schema = "orders";
    private const string Topic = "fills";

    private static readonly Migration[] OrdersMigrations =
    [
        MessagingMigrations.Outbox(1),
        MessagingMigrations.HandledEvents(2),
        new(3, "effects", "CREATE TABLE effects (n bigserial PRIMARY KEY, consumer text NOT NULL, event_id text NOT NULL, subject text NOT NULL)"),
    ];

    [Fact]
    public async Task An_event_added_to_the_outbox_reaches_every_subscriber_once_and_is_marked_sent()
    {
        await using var platform = await StartAsync(
            new EventSubscription("ledger", Schema, Topic, RecordEffect("ledger")),
            new EventSubscription("mailer", Schema, Topic, RecordEffect("mailer")));

        await AddToOutboxAsync(platform, Fill("fill-1", "acct-1"));

        await Eventually.UntilAsync("both consumers recorded the fill", async () => await platform.CountAsync("SELECT count(*) FROM orders.effects") == 2);
        await Eventually.UntilAsync("the deliveries are done", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        Assert.Equal(1, await platform.CountAsync("SELECT count(*) FROM orders.outbox WHERE id = 'fill-1' AND sent_at IS NOT NULL"));
        Assert.Equal(1, await platform.CountAsync("SELECT count(*) FROM orders.effects WHERE consumer = 'ledger' AND event_id = 'fill-1' AND subject = 'acct-1'"));
        Assert.Equal(2, await platform.CountAsync("SELECT count(*) FROM orders.handled_events WHERE event_id = 'fill-1'"));
    }

    [Fact]
    public async Task The_outbox_queues_the_deliveries_in_the_callers_transaction_and_a_repeated_id_queues_nothing()
    {
        // Not started: no relay or dispatcher runs, so whatever is queued was queued by the outbox statement itself.
        await using var platform = await StartAsync(start: false, subscriptions:
        [
            new EventSubscription("ledger", Schema, Topic, RecordEffect("ledger")),
            new EventSubscription("mailer", Schema, Topic, RecordEffect("mailer")),
        ]);

        await using (var connection = await platform.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await platform.Get<IOutbox>().AddAsync(transaction, Schema, Topic, Fill("fill-1", "acct-1"), CancellationToken.None);
            Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM platform.deliveries"));
            await transaction.RollbackAsync();
        }

        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM orders.outbox"));
        await AddToOutboxAsync(platform, Fill("fill-1", "acct-1"));
        Assert.Equal(1, await platform.CountAsync("SELECT count(*) FROM orders.outbox WHERE id = 'fill-1' AND sent_at IS NOT NULL"));
        Assert.Equal(2, await platform.CountAsync(
            "SELECT count(*) FROM platform.deliveries WHERE event_id = 'fill-1' AND subject = 'acct-1' AND consumer IN ('ledger', 'mailer') AND payload->>'topic' = 'fills'"));

        await platform.ExecuteAsync("DELETE FROM platform.deliveries");
        await AddToOutboxAsync(platform, Fill("fill-1", "acct-1"));
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM platform.deliveries"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Events_added_to_a_callers_batch_are_written_only_with_it_and_in_order(bool inProcess)
    {
        // Not started, so that only the batch writes; the outbox of the Dapr platform is tried on the same tables.
        await using var platform = await StartAsync(start: false, subscriptions: new EventSubscription("ledger", Schema, Topic, RecordEffect("ledger")));
        var outbox = inProcess ? platform.Get<IOutbox>() : new PostgresOutbox();
        CloudEvent[] fills = [Fill("fill-2", "acct-1"), Fill("fill-1", "acct-1")];

        async Task<NpgsqlException?> WriteAsync(string last)
        {
            await using var connection = await platform.DataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands = { new NpgsqlBatchCommand("INSERT INTO orders.effects (consumer, event_id, subject) VALUES ('caller', 'own', 'acct-1')") },
            };
            outbox.AddTo(batch, Schema, Topic, fills);
            batch.BatchCommands.Add(new NpgsqlBatchCommand(last));
            await using (var added = new NpgsqlCommand("SELECT count(*) FROM orders.outbox", connection, transaction))
            {
                Assert.Equal(0L, await added.ExecuteScalarAsync());
            }

            try
            {
                await batch.ExecuteNonQueryAsync();
                await transaction.CommitAsync();
                return null;
            }
            catch (NpgsqlException failed)
            {
                return failed;
            }
        }

        Assert.NotNull(await WriteAsync("SELECT 1 / 0"));
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM orders.outbox"));
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM orders.effects"));
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM platform.deliveries"));

        Assert.Null(await WriteAsync("SELECT 1"));
        Assert.Equal(1, await platform.CountAsync("SELECT count(*) FROM orders.effects WHERE event_id = 'own'"));
        Assert.Equal(["fill-2", "fill-1"], await IdsAsync(platform, "SELECT id FROM orders.outbox ORDER BY seq"));
        Assert.Equal(inProcess ? ["fill-2", "fill-1"] : [], await IdsAsync(platform, "SELECT event_id FROM platform.deliveries ORDER BY seq"));
    }

    [Fact]
    public async Task The_dispatcher_is_woken_by_the_commit_of_another_connection_not_by_its_poll()
    {
        await using var platform = await StartAsync(o => o.PollInterval = TimeSpan.FromMinutes(10), true, new EventSubscription("ledger", Schema, Topic, RecordEffect("ledger")));
        // A plain transaction of its own, as another replica's would be: only the NOTIFY of its commit can wake the
        // dispatcher before its ten-minute poll. (Had it committed before the LISTEN, the wake after listening finds it.)
        await AddToOutboxAsync(platform, Fill("fill-1", "acct-1"));

        await Eventually.UntilAsync("the fill is handled", async () => await platform.CountAsync("SELECT count(*) FROM orders.effects") == 1, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Handled_event_records_past_the_retention_are_pruned_and_recent_ones_kept()
    {
        await using var platform = await StartAsync(start: false, subscriptions: new EventSubscription("ledger", Schema, Topic, RecordEffect("ledger")));
        await platform.ExecuteAsync("""
            INSERT INTO orders.handled_events (consumer, topic, event_id, handled_at) VALUES
                ('ledger', 'fills', 'old', now() - interval '8 days'),
                ('ledger', 'fills', 'recent', now() - interval '6 days'),
                ('ledger', 'fills', 'new', now())
            """);

        var deleted = await platform.Get<IEnumerable<IHostedService>>().OfType<HandledEventsPruner>().Single().PruneAsync(CancellationToken.None);

        Assert.Equal(1, deleted);
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM orders.handled_events WHERE event_id = 'old'"));
        Assert.Equal(2, await platform.CountAsync("SELECT count(*) FROM orders.handled_events WHERE event_id IN ('recent', 'new')"));
    }

    [Fact]
    public async Task Stopping_waits_for_a_handler_in_flight_and_keeps_its_effect()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var record = RecordEffect("ledger");
        await using var platform = await StartAsync(new EventSubscription("ledger", Schema, Topic, async (cloudEvent, transaction, cancellationToken) =>
        {
            entered.TrySetResult();
            await release.Task;
            return await record(cloudEvent, transaction, cancellationToken);
        }));
        await AddToOutboxAsync(platform, Fill("fill-1", "acct-1"));
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var dispatcher = platform.Get<DeliveryDispatcher>();
        var stopping = dispatcher.StopAsync(CancellationToken.None);
        var stoppedEarly = await Task.WhenAny(stopping, Task.Delay(TimeSpan.FromMilliseconds(300))) == stopping;
        release.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(stoppedEarly, "the dispatcher stopped while a handler was still running");
        Assert.Equal(1, await platform.CountAsync("SELECT count(*) FROM orders.effects WHERE event_id = 'fill-1'"));
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM platform.deliveries"));
    }

    [Fact]
    public async Task Adding_the_same_event_id_twice_keeps_one_outbox_row()
    {
        await using var platform = await StartAsync(start: false);

        await AddToOutboxAsync(platform, Fill("fill-1", "acct-1"));
        await AddToOutboxAsync(platform, Fill("fill-1", "acct-1"));

        Assert.Equal(1, await platform.CountAsync("SELECT count(*) FROM orders.outbox"));
    }

    [Fact]
    public async Task Publishing_an_event_twice_before_it_is_handled_queues_one_delivery_per_subscriber()
    {
        await using var platform = await StartAsync(start: false, subscriptions: new EventSubscription("ledger", Schema, Topic, RecordEffect("ledger")));
        var publisher = platform.Get<IEventPublisher>();

        await publisher.PublishEventAsync(Topic, Fill("fill-1", "acct-1"), CancellationToken.None);
        await publisher.PublishEventAsync(Topic, Fill("fill-1", "acct-1"), CancellationToken.None);

        Assert.Equal(1, await platform.CountAsync("SELECT count(*) FROM platform.deliveries WHERE consumer = 'ledger' AND event_id = 'fill-1'"));
    }

    [Fact]
    public async Task An_event_relayed_again_after_a_crash_between_publish_and_mark_has_one_effect()
    {
        var calls = 0;
        await using var platform = await StartAsync(new EventSubscription("ledger", Schema, Topic, async (e, t, c) =>
        {
            Interlocked.Increment(ref calls);
            return await RecordEffect("ledger")(e, t, c);
        }));
        await AddToOutboxAsync(platform, Fill("fill-1", "acct-1"));
        await Eventually.UntilAsync("the fill is handled", async () => await platform.CountAsync("SELECT count(*) FROM orders.effects") == 1);

        // What a crash after publishing but before marking leaves behind: a published row still unsent.
        await platform.ExecuteAsync("UPDATE orders.outbox SET sent_at = NULL");
        await Eventually.UntilAsync("the relay published the row again", async () =>
            await platform.CountAsync("SELECT count(*) FROM orders.outbox WHERE sent_at IS NULL") == 0);
        await Eventually.UntilAsync("the repeated delivery is acknowledged", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);

        Assert.Equal(1, await platform.CountAsync("SELECT count(*) FROM orders.effects"));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_failing_event_is_retried_with_growing_delays_until_it_succeeds()
    {
        var attempts = new ConcurrentQueue<TimeSpan>();
        var clock = Stopwatch.StartNew();
        await using var platform = await StartAsync(new EventSubscription("ledger", Schema, Topic, async (e, t, c) =>
        {
            attempts.Enqueue(clock.Elapsed);
            return attempts.Count switch
            {
                1 => throw new TimeoutException("broker busy"),
                2 => DeliveryOutcome.Retry,
                _ => await RecordEffect("ledger")(e, t, c),
            };
        }));

        await platform.Get<IEventPublisher>().PublishEventAsync(Topic, Fill("fill-1", "acct-1"), CancellationToken.None);

        await Eventually.UntilAsync("the third attempt succeeds", async () => await platform.CountAsync("SELECT count(*) FROM orders.effects") == 1);
        await Eventually.UntilAsync("the delivery is done", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        var times = attempts.ToArray();
        Assert.Equal(3, times.Length);
        // Base 20 ms, doubled, with jitter down to half: at least 10 ms, then at least 20 ms.
        Assert.True(times[1] - times[0] >= TimeSpan.FromMilliseconds(10), $"first retry after {times[1] - times[0]}");
        Assert.True(times[2] - times[1] >= TimeSpan.FromMilliseconds(20), $"second retry after {times[2] - times[1]}");
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM platform.dead_letters"));
    }

    [Fact]
    public void Retry_delays_double_from_the_base_up_to_the_cap_with_jitter()
    {
        var options = new InProcessPlatformOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(100), RetryMaxDelay = TimeSpan.FromSeconds(30) };

        foreach (var (attempt, full) in new[] { (1, 100.0), (2, 200.0), (5, 1600.0), (20, 30_000.0), (1000, 30_000.0) })
        {
            var delay = DeliveryDispatcher.RetryDelay(attempt, options).TotalMilliseconds;
            Assert.InRange(delay, full / 2, full);
        }
    }

    [Fact]
    public async Task An_event_that_keeps_failing_goes_to_the_dead_letters_with_its_error_and_later_events_go_on()
    {
        var calls = 0;
        await using var platform = await StartAsync(
            options: o => o.MaxAttempts = 3,
            subscriptions: new EventSubscription("ledger", Schema, Topic, async (e, t, c) =>
            {
                await RecordEffect("ledger")(e, t, c);
                if (e.Id == "fill-1")
                {
                    Interlocked.Increment(ref calls);
                    throw new InvalidOperationException("no price for XAUUSD");
                }

                return DeliveryOutcome.Success;
            }));
        var publisher = platform.Get<IEventPublisher>();

        await publisher.PublishEventAsync(Topic, Fill("fill-1", "acct-1"), CancellationToken.None);
        await publisher.PublishEventAsync(Topic, Fill("fill-2", "acct-1"), CancellationToken.None);

        await Eventually.UntilAsync("the next event of the subject is handled", async () => await platform.CountAsync("SELECT count(*) FROM orders.effects") == 1);
        Assert.Equal(1, await platform.CountAsync("""
            SELECT count(*) FROM platform.dead_letters
            WHERE consumer = 'ledger' AND topic = 'fills' AND event_id = 'fill-1' AND attempts = 3
              AND error = 'System.InvalidOperationException: no price for XAUUSD' AND payload->>'subject' = 'acct-1'
            """));
        Assert.Equal(3, calls);
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM orders.effects WHERE event_id = 'fill-1'"));
        Assert.Equal(0, await platform.CountAsync("SELECT count(*) FROM orders.handled_events WHERE event_id = 'fill-1'"));
    }

    [Fact]
    public async Task A_dropped_event_goes_to_the_dead_letters_at_once_and_its_dead_letter_topic()
    {
        var calls = 0;
        await using var platform = await StartAsync(
            new EventSubscription("ledger", Schema, Topic, (e, t, c) =>
            {
                Interlocked.Increment(ref calls);
                return Task.FromResult(DeliveryOutcome.Drop);
            }, DeadLetterTopic: "fills-dead"),
            new EventSubscription("janitor", Schema, "fills-dead", RecordEffect("janitor")));

        await platform.Get<IEventPublisher>().PublishEventAsync(Topic, Fill("fill-1", "acct-1"), CancellationToken.None);

        await Eventually.UntilAsync("the dead-letter topic's subscriber got it", async () =>
            await platform.CountAsync("SELECT count(*) FROM orders.effects WHERE consumer = 'janitor' AND event_id = 'fill-1'") == 1);
        Assert.Equal(1, await platform.CountAsync(
            "SELECT count(*) FROM platform.dead_letters WHERE event_id = 'fill-1' AND attempts = 1 AND error = 'dropped by the handler'"));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Events_of_a_subject_are_handled_one_at_a_time_in_order_and_a_failing_one_holds_back_only_its_subject()
    {
        var order = new ConcurrentDictionary<string, ConcurrentQueue<string>>();
        var running = new ConcurrentDictionary<string, int>();
        var overlaps = 0;
        var maxSubjectsAtOnce = 0;
        await using var platform = await StartAsync(options: o => o.MaxAttempts = 50, subscriptions: new EventSubscription("ledger", Schema, Topic, async (e, t, c) =>
        {
            if (running.AddOrUpdate(e.Subject, 1, (_, n) => n + 1) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            InterlockedMax(ref maxSubjectsAtOnce, running.Count(r => r.Value > 0));
            try
            {
                await Task.Delay(5, c);
                // acct-b's first fill fails until every fill of acct-a is through: acct-a must not wait for it.
                if (e.Id == "b-1" && (order.TryGetValue("acct-a", out var a) ? a.Count : 0) < 5)
                {
                    return DeliveryOutcome.Retry;
                }

                order.GetOrAdd(e.Subject, _ => new ConcurrentQueue<string>()).Enqueue(e.Id);
                return DeliveryOutcome.Success;
            }
            finally
            {
                running.AddOrUpdate(e.Subject, 0, (_, n) => n - 1);
            }
        }));
        var publisher = platform.Get<IEventPublisher>();

        await publisher.PublishEventAsync(Topic, Fill("b-1", "acct-b"), CancellationToken.None);
        await publisher.PublishEventAsync(Topic, Fill("b-2", "acct-b"), CancellationToken.None);
        foreach (var n in Enumerable.Range(1, 5))
        {
            await publisher.PublishEventAsync(Topic, Fill($"a-{n}", "acct-a"), CancellationToken.None);
            await publisher.PublishEventAsync(Topic, Fill($"c-{n}", "acct-c"), CancellationToken.None);
        }

        await Eventually.UntilAsync("every fill is handled", async () => await platform.CountAsync("SELECT count(*) FROM platform.deliveries") == 0);
        Assert.Equal(["a-1", "a-2", "a-3", "a-4", "a-5"], order["acct-a"]);
        Assert.Equal(["b-1", "b-2"], order["acct-b"]);
        Assert.Equal(["c-1", "c-2", "c-3", "c-4", "c-5"], order["acct-c"]);
        Assert.Equal(0, overlaps);
        Assert.True(maxSubjectsAtOnce >= 2, "different subjects should run in parallel");
    }

    [Fact]
    public void A_consumer_subscribes_to_a_topic_once()
    {
        var registry = new SubscriptionRegistry([new EventSubscription("ledger", Schema, Topic, RecordEffect("ledger"))]);

        var error = Assert.Throws<InvalidOperationException>(() => registry.Subscribe(new EventSubscription("ledger", Schema, Topic, RecordEffect("ledger"))));

        Assert.Contains("consumer ledger already subscribes to topic fills", error.Message);
        registry.Subscribe(new EventSubscription("mailer", Schema, Topic, RecordEffect("mailer")));
        Assert.Equal(["ledger", "mailer"], registry.Subscriptions.Select(s => s.Consumer));
    }

    [Fact]
    public void A_subscription_takes_its_events_at_their_commit_or_in_runs_not_both()
    {
        var registry = new SubscriptionRegistry([]);
        var both = new EventSubscription("hub", Schema, Topic, RecordEffect("hub"), OnCommit: _ => { }, RunHandler: (_, _, _) => Task.FromResult(DeliveryOutcome.Success));

        var error = Assert.Throws<InvalidOperationException>(() => registry.Subscribe(both));

        Assert.Contains("consumer hub on topic fills has both OnCommit and RunHandler", error.Message);
        Assert.Empty(registry.Subscriptions);
    }

    [Fact]
    public async Task Sent_outbox_rows_older_than_the_retention_are_pruned()
    {
        await using var platform = await StartAsync(options: o =>
        {
            o.OutboxRetention = TimeSpan.Zero;
            o.OutboxPruneInterval = TimeSpan.Zero;
        });

        await AddToOutboxAsync(platform, Fill("fill-1", "acct-1"));

        await Eventually.UntilAsync("the sent row is pruned", async () => await platform.CountAsync("SELECT count(*) FROM orders.outbox") == 0);
    }

    private static Task<TestPlatform> StartAsync(params EventSubscription[] subscriptions) => StartAsync(null, true, subscriptions);

    private static Task<TestPlatform> StartAsync(Action<InProcessPlatformOptions>? options = null, bool start = true, params EventSubscription[] subscriptions) =>
        TestPlatform.StartAsync(
            services =>
            {
                services.AddSchemaMigrations(Schema, OrdersMigrations);
                services.AddSingleton(new OutboxRegistration(Schema));
                foreach (var subscription in subscriptions)
                {
                    services.AddSingleton(subscription);
                }
            },
            options,
            start: start);

    private static CloudEvent Fill(string id, string account) =>
        CloudEvent.Create(id, "gateway", Topics.Events.ExecutionReported, account, DateTimeOffset.UnixEpoch, new { lots = 1.0m });

    private static async Task<List<string>> IdsAsync(TestPlatform platform, string sql)
    {
        await using var command = platform.DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private static async Task AddToOutboxAsync(TestPlatform platform, CloudEvent cloudEvent)
    {
        await using var connection = await platform.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await platform.Get<IOutbox>().AddAsync(transaction, Schema, Topic, cloudEvent, CancellationToken.None);
        await transaction.CommitAsync();
    }

    private static Messaging.EventHandler RecordEffect(string consumer) => async (cloudEvent, transaction, cancellationToken) =>
    {
        await using var command = new NpgsqlCommand(
            "INSERT INTO orders.effects (consumer, event_id, subject) VALUES (@consumer, @id, @subject)", transaction.Connection, transaction);
        command.Parameters.AddWithValue("consumer", consumer);
        command.Parameters.AddWithValue("id", cloudEvent.Id);
        command.Parameters.AddWithValue("subject", cloudEvent.Subject);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return DeliveryOutcome.Success;
    };

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) is var seen && seen != current)
        {
            current = seen;
        }
    }
}
