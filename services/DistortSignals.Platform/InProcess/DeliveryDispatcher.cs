using System.Globalization;
using System.Text.Json;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DistortSignals.Platform.InProcess;

/// <summary>
/// Hands the rows of <c>platform.deliveries</c> to the subscribers' handlers. Per consumer and (topic,
/// subject), deliveries are handled oldest first and only from a due head on, so events of one subject are
/// handled in order and a failing event holds back the later events of its subject only. Up to
/// <see cref="InProcessPlatformOptions.DeliveryParallelism"/> runs per consumer go at once, each over one or more
/// subjects. It looks for work when woken: by the commit of a transaction that queued deliveries (a NOTIFY on
/// <see cref="InProcessOutbox.DeliveriesChannel"/>, from any replica), by <see cref="Wake"/>, or at the poll interval.
/// <para>
/// A run of up to <see cref="InProcessPlatformOptions.DeliveryBatchSize"/> due deliveries of its subjects is
/// handled in one transaction, in queue order, and committed once: a commit (an fsync on a durable server) per run
/// instead of per event. A failure's bookkeeping (attempts, backoff, dead letter) happens in the same transaction,
/// in the pass one delivery at a time after rolling back to the delivery's savepoint; the later deliveries of its
/// subject wait, the other subjects' go on, and everything handled is committed. Each subject is claimed with a
/// transaction advisory lock (see <see cref="ClaimRunAsync"/>), so dispatchers of several replicas may run together.
/// </para>
/// <para>
/// A <see cref="EventSubscription.Background"/> subscription's runs start when no other subscription's run of this
/// dispatcher is in flight, or once its oldest due head has waited <see cref="InProcessPlatformOptions.BackgroundMaxWait"/>:
/// a burst's work that someone waits for (a bar's signal, its push to the clients) has the cores first, and what only
/// keeps books follows. Under a load that keeps the others busy it runs beside them as any subscription does.
/// </para>
/// <para>
/// A run is tried first at once: its claim records every event it takes as handled, in the same statement, and the
/// handlers run one after another with no savepoint between them, which saves a round trip per delivery. That pass
/// commits only when every delivery succeeded (or, when stopping, those handled so far). A failure rolls the whole pass back, and the run is done again one
/// delivery at a time, each under a savepoint; the delivery that failed is not called again in that second pass but
/// has its failure recorded, so a failure costs one attempt as before. The handlers before it are called twice, the
/// first time rolled back: what they do outside the transaction must be safe to repeat, as it must be under
/// at-least-once delivery anyway. A run holding a delivery that failed before goes one at a time from the start.
/// A subscription with a <see cref="EventSubscription.RunHandler"/> is given the pass's events in one call instead;
/// when that call fails, the run is done again one delivery at a time through <see cref="EventSubscription.Handler"/>,
/// which calls every delivery again, the one that failed too, since the call did not say which one it was.
/// </para>
/// <para>
/// In the pass one delivery at a time, a savepoint is not released after its delivery succeeds: the next delivery's savepoint nests inside it, which
/// saves a round trip per delivery and changes nothing at the commit. The price is that a handler which caught a
/// database error and still answered success (leaving the transaction failed) shows only at the next statement:
/// that statement then fails with <see cref="PostgresErrorCodes.InFailedSqlTransaction"/>, and the failure is
/// charged to the last delivery handled, whose savepoint is still there to roll back to (see <see cref="FailLastHandledAsync"/>).
/// </para>
/// <para>
/// An <see cref="EventSubscription.OnCommit"/> subscription is given each event from the commit's notification on
/// <see cref="InProcessOutbox.EventsChannel"/>, on the listener's thread, as soon as the publishing transaction
/// commits and in commit order; its queued delivery, which follows as for any subscription, is then acknowledged
/// without the handler (see <see cref="OnCommitHandovers"/>). The handler takes what the notification did not bring:
/// an event too large to notify, one committed while the listener was reconnecting or before this process started,
/// one written by <see cref="OutboxRelay"/>.
/// </para>
/// </summary>
public sealed class DeliveryDispatcher(
    NpgsqlDataSource dataSource,
    ISubscriptionRegistry registry,
    IOptions<InProcessPlatformOptions> options,
    InProcessMetrics metrics,
    ILogger<DeliveryDispatcher> logger) : BackgroundService
{
    /// <summary>The transaction-local setting through which a claim's lock statement tells its read statement which subjects it locked.</summary>
    private const string ClaimedSetting = "distortsignals.claimed_subjects";

    /// <summary>
    /// How many events given to an <see cref="EventSubscription.OnCommit"/> subscription by one path are remembered
    /// until the other comes: far more than the deliveries a background subscription leaves queued in a burst.
    /// </summary>
    private const int OnCommitMemory = 100_000;

    private readonly InProcessPlatformOptions _options = options.Value;
    private readonly AsyncSignal _wake = new();
    private readonly OnCommitHandovers _handedOver = new(OnCommitMemory);

    /// <summary>
    /// Cancels the handlers themselves. Stopping only stops new runs: the handler in flight of each run finishes
    /// and commits (the drain), unless the host's shutdown timeout passes first and this cancels it.
    /// </summary>
    private readonly CancellationTokenSource _abort = new();

    /// <summary>New deliveries exist or a subject became free: look again now rather than at the next poll.</summary>
    public void Wake() => _wake.Set();

    /// <summary>
    /// Records the event as handled by the subscription's consumer in <paramref name="transaction"/> and runs
    /// the handler, unless the record already existed: then the event was handled before and is acknowledged.
    /// </summary>
    public static async Task<DeliveryOutcome> HandleOnceAsync(
        NpgsqlTransaction transaction, EventSubscription subscription, CloudEvent cloudEvent, CancellationToken cancellationToken) =>
        await RecordHandledAsync(transaction, subscription, cloudEvent, null, cancellationToken)
            ? await subscription.Handler(cloudEvent, transaction, cancellationToken)
            : DeliveryOutcome.Success;

    /// <summary>
    /// Records the event as handled by the subscription's consumer, taking <paramref name="savepoint"/> first in the
    /// same round trip; false when the record already existed.
    /// </summary>
    private static async Task<bool> RecordHandledAsync(
        NpgsqlTransaction transaction, EventSubscription subscription, CloudEvent cloudEvent, string? savepoint, CancellationToken cancellationToken)
    {
        var schema = PostgresIdentifier.Require(subscription.Schema, "subscription schema");
        var takeSavepoint = savepoint is null ? "" : $"SAVEPOINT {savepoint};";
        await using var record = new NpgsqlCommand(
            $"{takeSavepoint}INSERT INTO {schema}.handled_events (consumer, topic, event_id) VALUES (@consumer, @topic, @eventId) ON CONFLICT DO NOTHING",
            transaction.Connection, transaction);
        record.Parameters.AddWithValue("consumer", subscription.Consumer);
        record.Parameters.AddWithValue("topic", subscription.Topic);
        record.Parameters.AddWithValue("eventId", cloudEvent.Id);
        return await record.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>The delay before attempt <paramref name="failedAttempts"/> + 1: exponential from the base, capped, with jitter in [50%, 100%].</summary>
    public static TimeSpan RetryDelay(int failedAttempts, InProcessPlatformOptions options)
    {
        var exponential = options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failedAttempts - 1, 30));
        var capped = Math.Min(exponential, options.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.5 + (Random.Shared.NextDouble() * 0.5)));
    }

    /// <param name="cancellationToken">Fires when the host's shutdown timeout passes: then handlers still running are cancelled.</param>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await using var abortAtTimeout = cancellationToken.Register(_abort.Cancel);
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _abort.Dispose();
        base.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(
            DispatchAsync(stoppingToken),
            PostgresNotifications.ListenAsync(
                dataSource,
                [InProcessOutbox.DeliveriesChannel, InProcessOutbox.EventsChannel],
                Notified,
                listening: Wake,
                failed: error => logger.LogWarning(error, "Listening for new deliveries failed; polling until it reconnects"),
                _options.PollInterval,
                stoppingToken));

    private void Notified(NpgsqlNotificationEventArgs notification)
    {
        if (notification.Channel == InProcessOutbox.EventsChannel)
        {
            HandOver(notification.Payload);
        }
        else
        {
            Wake();
        }
    }

    /// <summary>Gives a committed event to the <see cref="EventSubscription.OnCommit"/> subscriptions of its topic that do not have it yet.</summary>
    private void HandOver(string payload)
    {
        CloudEvent cloudEvent;
        try
        {
            cloudEvent = JsonSerializer.Deserialize<CloudEvent>(payload, PlatformJson.Options)!;
        }
        catch (JsonException malformed)
        {
            // Its queued delivery dead-letters it with the reason.
            logger.LogWarning(malformed, "A committed event could not be read from its notification; its queued delivery takes it");
            return;
        }

        foreach (var subscription in registry.Subscriptions)
        {
            if (subscription.OnCommit is not { } onCommit || subscription.Topic != cloudEvent.Topic
                || !_handedOver.FirstComing(subscription.Consumer, subscription.Topic, cloudEvent.Id))
            {
                continue;
            }

            try
            {
                onCommit(cloudEvent);
            }
            catch (Exception error)
            {
                _handedOver.Forget(subscription.Consumer, subscription.Topic, cloudEvent.Id);
                logger.LogWarning(error, "{Consumer} could not take event {EventId} on {Topic} at its commit; its queued delivery takes it",
                    subscription.Consumer, cloudEvent.Id, subscription.Topic);
            }
        }
    }

    /// <summary>
    /// Runs a delivery's handler, unless the subscription's <see cref="EventSubscription.OnCommit"/> had the event
    /// already. When it runs for such a subscription, it is recorded, so that a notification coming after it gives
    /// nothing, unless it fails: the event then comes again by whichever path comes next.
    /// </summary>
    private async Task<DeliveryOutcome> HandleAsync(EventSubscription subscription, CloudEvent cloudEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        if (subscription.OnCommit is null)
        {
            return await subscription.Handler(cloudEvent, transaction, cancellationToken);
        }

        if (!_handedOver.FirstComing(subscription.Consumer, subscription.Topic, cloudEvent.Id))
        {
            return DeliveryOutcome.Success;
        }

        var outcome = DeliveryOutcome.Retry;
        try
        {
            outcome = await subscription.Handler(cloudEvent, transaction, cancellationToken);
            return outcome;
        }
        finally
        {
            if (outcome != DeliveryOutcome.Success)
            {
                _handedOver.Forget(subscription.Consumer, subscription.Topic, cloudEvent.Id);
            }
        }
    }

    private async Task DispatchAsync(CancellationToken stoppingToken)
    {
        var inFlight = new Dictionary<(string Consumer, string Topic, string Subject), Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    var wait = await StartDueDeliveriesAsync(inFlight, stoppingToken);
                    await _wake.WaitAsync(wait, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception error)
                {
                    logger.LogError(error, "Reading the deliveries failed; trying again");
                    await _wake.WaitAsync(_options.PollInterval, CancellationToken.None);
                }
            }
        }
        finally
        {
            // Graceful shutdown: in-flight handlers finish (or roll back) before the host stops.
            await Task.WhenAll(inFlight.Values);
        }
    }

    /// <summary>
    /// Starts runs for the subjects with a due head, up to the parallelism per consumer (a background subscription's
    /// held back while others run); returns how long to wait before looking again. A consumer's due subjects of one
    /// topic are dealt over its free runs, so that a burst over many subjects (a bar of every symbol closing at the
    /// same minute) costs a few transactions, not one each.
    /// </summary>
    private async Task<TimeSpan> StartDueDeliveriesAsync(
        Dictionary<(string Consumer, string Topic, string Subject), Task> inFlight, CancellationToken stoppingToken)
    {
        foreach (var finished in inFlight.Where(f => f.Value.IsCompleted).Select(f => f.Key).ToList())
        {
            inFlight.Remove(finished);
        }

        var wait = _options.PollInterval;
        var subscriptions = registry.Subscriptions.ToDictionary(s => (s.Consumer, s.Topic));
        if (subscriptions.Count == 0)
        {
            return wait;
        }

        // The heads of all subjects in one query: a skip scan over deliveries_by_subject that visits one row
        // per subject instead of the whole backlog. The consumers are filtered afterwards because PostgreSQL
        // does not start the index scan at the row comparison when = ANY is beside it. Oldest head first, so
        // that with more subjects than parallelism no subject waits behind the others' backlogs.
        await using var command = dataSource.CreateCommand("""
            WITH RECURSIVE heads AS (
                (SELECT consumer, topic, subject, seq, next_attempt_at FROM platform.deliveries
                 ORDER BY consumer, topic, subject, seq LIMIT 1)
                UNION ALL
                SELECT next.* FROM heads h CROSS JOIN LATERAL (
                    SELECT consumer, topic, subject, seq, next_attempt_at FROM platform.deliveries d
                    WHERE (d.consumer, d.topic, d.subject) > (h.consumer, h.topic, h.subject)
                    ORDER BY d.consumer, d.topic, d.subject, d.seq LIMIT 1) next)
            SELECT consumer, topic, subject, next_attempt_at - clock_timestamp() FROM heads
            WHERE consumer = ANY(@consumers)
            ORDER BY seq
            """);
        command.Parameters.AddWithValue("consumers", subscriptions.Keys.Select(k => k.Consumer).Distinct().ToArray());
        // Per subscription, its due subjects, oldest head first, and how long that head has been due.
        var due = new Dictionary<EventSubscription, (List<string> Subjects, TimeSpan Waited)>();
        await using (var reader = await command.ExecuteReaderAsync(stoppingToken))
        {
            while (await reader.ReadAsync(stoppingToken))
            {
                var (consumer, topic, subject, dueIn) = (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetTimeSpan(3));
                if (!subscriptions.TryGetValue((consumer, topic), out var subscription) || inFlight.ContainsKey((consumer, topic, subject)))
                {
                    continue;
                }

                if (dueIn > TimeSpan.Zero)
                {
                    wait = dueIn < wait ? dueIn : wait;
                    continue;
                }

                if (!due.TryGetValue(subscription, out var heads))
                {
                    due[subscription] = heads = ([], -dueIn);
                }

                heads.Subjects.Add(subject);
            }
        }

        // The others first, so that the runs they start here hold back the background subscriptions' runs.
        foreach (var (subscription, (subjects, waited)) in due.OrderBy(d => d.Key.Background))
        {
            if (subscription.Background && waited < _options.BackgroundMaxWait
                && inFlight.Any(f => !f.Value.IsCompleted && subscriptions.TryGetValue((f.Key.Consumer, f.Key.Topic), out var other) && !other.Background))
            {
                // A finished run wakes the dispatcher; this wait only bounds how long the head is held back.
                var left = _options.BackgroundMaxWait - waited;
                wait = left < wait ? left : wait;
                continue;
            }

            var running = inFlight.Where(f => f.Key.Consumer == subscription.Consumer).Select(f => f.Value).Distinct().Count();
            var runs = Math.Min(_options.DeliveryParallelism - running, subjects.Count);
            for (var r = 0; r < runs; r++)
            {
                // Dealt like cards, so the oldest heads are spread over the runs rather than all in the first.
                var dealt = subjects.Where((_, i) => i % runs == r).ToList();
                var task = Task.Run(() => RunDeliveriesAsync(subscription, dealt, stoppingToken), CancellationToken.None);
                foreach (var subject in dealt)
                {
                    inFlight[(subscription.Consumer, subscription.Topic, subject)] = task;
                }
            }
        }

        return wait;
    }

    private async Task RunDeliveriesAsync(EventSubscription subscription, IReadOnlyList<string> subjects, CancellationToken stoppingToken)
    {
        try
        {
            await DeliverRunAsync(subscription, subjects, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the transaction rolled back and the deliveries wait for the next start.
        }
        catch (Exception error)
        {
            logger.LogError(error, "Deliveries of subjects {Subjects} on {Topic} to {Consumer} could not be processed; they stay queued",
                string.Join(", ", subjects), subscription.Topic, subscription.Consumer);
        }
        finally
        {
            _wake.Set();
        }
    }

    /// <summary>
    /// Handles a run of the subjects' oldest due deliveries in one transaction, in queue order: at once, and when
    /// that fails, one delivery at a time (see the class's remarks).
    /// </summary>
    private async Task DeliverRunAsync(EventSubscription subscription, IReadOnlyList<string> subjects, CancellationToken stoppingToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
        if (await DeliverRunAtOnceAsync(connection, subscription, subjects, stoppingToken) is { } again)
        {
            metrics.Redone(subscription);
            await DeliverRunOneByOneAsync(connection, subscription, subjects, again.Failure, stoppingToken);
        }
    }

    /// <summary>
    /// The first pass over a run (see the class's remarks): the claim records the taken events as handled, and the
    /// deliveries run without savepoints. Commits when every delivery succeeded, or, when stopping, the ones handled
    /// so far; otherwise rolls everything back and returns what the pass one delivery at a time needs to know. Null
    /// when nothing is left to do.
    /// </summary>
    private async Task<RunAgain?> DeliverRunAtOnceAsync(
        NpgsqlConnection connection, EventSubscription subscription, IReadOnlyList<string> subjects, CancellationToken stoppingToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(stoppingToken);
        var run = await ClaimRunAsync(transaction, subscription, subjects, recordHandled: true, stoppingToken);
        if (run.Any(d => d.Attempts > 0))
        {
            await transaction.RollbackAsync(CancellationToken.None);
            return new RunAgain(null);
        }

        var handled = new List<QueuedDelivery>(run.Count);
        if (subscription.RunHandler is { } runHandler)
        {
            // Stopping before the call: nothing is handled, and the run waits for the next start.
            if (!stoppingToken.IsCancellationRequested && !_abort.IsCancellationRequested)
            {
                try
                {
                    if (!await HandleTogetherAsync(runHandler, subscription, run, transaction))
                    {
                        await transaction.RollbackAsync(CancellationToken.None);
                        return new RunAgain(null);
                    }
                }
                catch (OperationCanceledException) when (_abort.IsCancellationRequested)
                {
                    // The shutdown timeout passed: only the whole run can be undone, and it goes again at the next start.
                    await transaction.RollbackAsync(CancellationToken.None);
                    return null;
                }

                handled.AddRange(run);
            }
        }
        else
        {
            foreach (var delivery in run)
            {
                // Stopping: what is handled so far is committed below; the rest waits for the next start.
                if (stoppingToken.IsCancellationRequested || _abort.IsCancellationRequested)
                {
                    break;
                }

                DeliveryOutcome outcome;
                string? error = null;
                try
                {
                    var cloudEvent = JsonSerializer.Deserialize<CloudEvent>(delivery.Payload, PlatformJson.Options)!;
                    outcome = delivery.RecordedNow ? await HandleAsync(subscription, cloudEvent, transaction, _abort.Token) : DeliveryOutcome.Success;
                }
                catch (OperationCanceledException) when (_abort.IsCancellationRequested)
                {
                    // The shutdown timeout passed: the cancelled handler may have written part of its work, and without a
                    // savepoint only the whole run can be undone. It goes again at the next start.
                    await transaction.RollbackAsync(CancellationToken.None);
                    return null;
                }
                catch (Exception failure) when (failure is JsonException || ShowsAnEarlierFailure(failure))
                {
                    // A malformed event is dead-lettered by the second pass; a failed transaction was an earlier
                    // handler's doing, which the second pass finds.
                    await transaction.RollbackAsync(CancellationToken.None);
                    return new RunAgain(null);
                }
                catch (Exception failure)
                {
                    outcome = DeliveryOutcome.Retry;
                    error = Describe(failure);
                }

                if (outcome != DeliveryOutcome.Success)
                {
                    await transaction.RollbackAsync(CancellationToken.None);
                    return new RunAgain(new FirstPassFailure(delivery.Seq, outcome, error));
                }

                handled.Add(delivery);
            }
        }

        try
        {
            // The records of the events the claim took but stopping left unhandled go, with the handled deliveries.
            // A claim that took nothing (other dispatchers hold every subject) has nothing to delete.
            var handledSeqs = handled.Select(h => h.Seq).ToHashSet();
            if (run.Count > 0)
            {
                await connection.ExecuteAsync(transaction, $"""
                    DELETE FROM {PostgresIdentifier.Require(subscription.Schema, "subscription schema")}.handled_events
                    WHERE consumer = @consumer AND topic = @topic AND event_id = ANY(@unhandled);
                    DELETE FROM platform.deliveries WHERE seq = ANY(@seqs);
                    """, CancellationToken.None,
                    ("consumer", subscription.Consumer), ("topic", subscription.Topic),
                    ("unhandled", run.Where(d => d.RecordedNow && !handledSeqs.Contains(d.Seq)).Select(d => d.EventId).ToArray()),
                    ("seqs", handledSeqs.ToArray()));
            }

            await transaction.CommitAsync(CancellationToken.None);
            metrics.Finished(subscription, "success", handled.Count);
            return null;
        }
        catch (PostgresException failed) when (failed.SqlState == PostgresErrorCodes.InFailedSqlTransaction)
        {
            // A handler caught a database error and still answered success; the second pass finds which.
            await transaction.RollbackAsync(CancellationToken.None);
            return new RunAgain(null);
        }
    }

    /// <summary>
    /// The first pass's handling through the subscription's <see cref="EventSubscription.RunHandler"/>: the run's events
    /// not handled before, in one call. False when it answered anything but success or threw: the run then goes again
    /// one delivery at a time, where each delivery's own outcome is found and recorded.
    /// </summary>
    private async Task<bool> HandleTogetherAsync(EventRunHandler runHandler, EventSubscription subscription, IReadOnlyList<QueuedDelivery> run, NpgsqlTransaction transaction)
    {
        try
        {
            var cloudEvents = run.Where(d => d.RecordedNow).Select(d => JsonSerializer.Deserialize<CloudEvent>(d.Payload, PlatformJson.Options)!).ToList();
            return cloudEvents.Count == 0 || await runHandler(cloudEvents, transaction, _abort.Token) == DeliveryOutcome.Success;
        }
        catch (Exception failure) when (failure is not OperationCanceledException || !_abort.IsCancellationRequested)
        {
            logger.LogDebug(failure, "A run of {Count} deliveries to {Consumer} on {Topic} failed at once; it goes again one delivery at a time",
                run.Count, subscription.Consumer, subscription.Topic);
            return false;
        }
    }

    /// <summary>True when the failure is, or wraps, a statement refused because the transaction had already failed.</summary>
    private static bool ShowsAnEarlierFailure(Exception failure)
    {
        for (var e = failure; e is not null; e = e.InnerException)
        {
            if (e is PostgresException { SqlState: PostgresErrorCodes.InFailedSqlTransaction })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The run one delivery at a time, each under a savepoint: the handled ones are deleted in one statement and
    /// committed together. A failure is recorded and holds back the later deliveries of its own subject only; the
    /// other subjects of the run go on. <paramref name="firstPassFailure"/>, the delivery that failed in the first
    /// pass, has that failure recorded without being called again.
    /// </summary>
    private async Task DeliverRunOneByOneAsync(
        NpgsqlConnection connection, EventSubscription subscription, IReadOnlyList<string> subjects, FirstPassFailure? firstPassFailure, CancellationToken stoppingToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(stoppingToken);
        var run = await ClaimRunAsync(transaction, subscription, subjects, recordHandled: false, stoppingToken);
        var handled = new List<(QueuedDelivery Delivery, CloudEvent CloudEvent)>(run.Count);
        var heldBack = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < run.Count; i++)
        {
            // Stopping: what is handled so far is committed below; the rest waits for the next start.
            if (stoppingToken.IsCancellationRequested || _abort.IsCancellationRequested)
            {
                break;
            }

            var delivery = run[i];
            if (heldBack.Contains(delivery.Subject))
            {
                continue;
            }

            try
            {
                if (await DeliverAsync(transaction, subscription, delivery, firstPassFailure, _abort.Token) is { } cloudEvent)
                {
                    handled.Add((delivery, cloudEvent));
                }
                else
                {
                    heldBack.Add(delivery.Subject);
                }
            }
            catch (PostgresException failed) when (failed.SqlState == PostgresErrorCodes.InFailedSqlTransaction && handled.Count > 0)
            {
                await FailLastHandledAsync(transaction, subscription, handled, heldBack, failed);
                i--; // This delivery did not begin; it goes again unless it is of the subject just held back.
            }
        }

        while (handled.Count > 0)
        {
            try
            {
                await connection.ExecuteAsync(transaction, "DELETE FROM platform.deliveries WHERE seq = ANY(@seqs)", CancellationToken.None,
                    ("seqs", handled.Select(h => h.Delivery.Seq).ToArray()));
                break;
            }
            catch (PostgresException failed) when (failed.SqlState == PostgresErrorCodes.InFailedSqlTransaction)
            {
                await FailLastHandledAsync(transaction, subscription, handled, heldBack, failed);
            }
        }

        await transaction.CommitAsync(CancellationToken.None);
        metrics.Finished(subscription, "success", handled.Count);
    }

    /// <summary>
    /// The last handled delivery left the transaction failed (its handler caught a database error and answered
    /// success; every statement since would have failed): rolling back to its savepoint undoes that delivery alone,
    /// which is then recorded as failed and holds back its subject.
    /// </summary>
    private async Task FailLastHandledAsync(
        NpgsqlTransaction transaction, EventSubscription subscription, List<(QueuedDelivery Delivery, CloudEvent CloudEvent)> handled, HashSet<string> heldBack, PostgresException failed)
    {
        var (delivery, cloudEvent) = handled[^1];
        handled.RemoveAt(handled.Count - 1);
        heldBack.Add(delivery.Subject);
        await transaction.RollbackAsync(SavepointOf(delivery), CancellationToken.None);
        await RecordFailureAsync(transaction, subscription, delivery, cloudEvent, DeliveryOutcome.Retry, Describe(failed), CancellationToken.None);
    }

    /// <summary>
    /// Takes the transaction advisory lock of each subject it can and reads up to
    /// <see cref="InProcessPlatformOptions.DeliveryBatchSize"/> of their oldest deliveries in queue order, each
    /// subject's up to its first that is not due; empty when other dispatchers hold every subject. With
    /// <paramref name="recordHandled"/>, the same statement records those events as handled by the consumer, and each
    /// delivery says whether its record is new (an event handled before is acknowledged without its handler).
    /// <para>
    /// The locks, rather than row locks, are what make dispatchers of several replicas safe together: whoever
    /// holds a subject's lock is the only one handling the subject, whichever rows it sees, even a delivery whose
    /// lower seq commits late. They are tried, not waited for, so a busy subject is simply skipped (and two runs
    /// cannot deadlock), and they go with the transaction, so a crash releases them. The rows are read by a later
    /// statement, whose snapshot therefore includes everything the previous holders committed; the two statements
    /// go in one round trip, the first leaving the subjects it locked in a transaction-local setting for the second.
    /// </para>
    /// </summary>
    private async Task<List<QueuedDelivery>> ClaimRunAsync(
        NpgsqlTransaction transaction, EventSubscription subscription, IReadOnlyList<string> subjects, bool recordHandled, CancellationToken cancellationToken)
    {
        var schema = PostgresIdentifier.Require(subscription.Schema, "subscription schema");
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand($"""
                    SELECT set_config('{ClaimedSetting}', coalesce(json_agg(s), '[]')::text, true) FROM unnest(@subjects) AS s
                    WHERE pg_try_advisory_xact_lock(hashtextextended('delivery:' || @consumer || '/' || @topic || '/' || s, 0))
                    """),

                // Each subject's oldest rows by its own index range (a subject's backlog may be deep), then the
                // payloads of the run's rows only, each subject's taken up to its first that is not due.
                new NpgsqlBatchCommand($"""
                    WITH run AS (
                        SELECT queued.seq FROM json_array_elements_text(current_setting('{ClaimedSetting}')::json) AS s(subject) CROSS JOIN LATERAL (
                            SELECT seq FROM platform.deliveries
                            WHERE consumer = @consumer AND topic = @topic AND subject = s.subject
                            ORDER BY seq LIMIT @limit) queued
                        ORDER BY queued.seq LIMIT @limit),
                    rows AS (
                        SELECT d.seq, d.subject, d.event_id, d.payload, d.attempts,
                               bool_and(d.next_attempt_at <= clock_timestamp()) OVER (PARTITION BY d.subject ORDER BY d.seq) AS taken
                        FROM run JOIN platform.deliveries d USING (seq)),
                    recorded AS (
                        INSERT INTO {schema}.handled_events (consumer, topic, event_id)
                        SELECT @consumer, @topic, event_id FROM rows WHERE taken AND @recordHandled
                        ON CONFLICT DO NOTHING
                        RETURNING event_id)
                    SELECT r.seq, r.subject, r.event_id, r.payload::text, r.attempts, r.event_id IN (SELECT event_id FROM recorded)
                    FROM rows r WHERE r.taken
                    ORDER BY r.seq
                    """),
            },
        };
        var (lockSubjects, readRun) = (batch.BatchCommands[0], batch.BatchCommands[1]);
        lockSubjects.Parameters.AddWithValue("subjects", subjects.ToArray());
        foreach (var command in new[] { lockSubjects, readRun })
        {
            command.Parameters.AddWithValue("consumer", subscription.Consumer);
            command.Parameters.AddWithValue("topic", subscription.Topic);
        }

        readRun.Parameters.AddWithValue("limit", Math.Max(1, _options.DeliveryBatchSize));
        readRun.Parameters.AddWithValue("recordHandled", recordHandled);

        var run = new List<QueuedDelivery>();
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            run.Add(new QueuedDelivery(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetBoolean(5)));
        }

        return run;
    }

    /// <summary>
    /// Handles one delivery under a savepoint of its own, which it leaves in place; returns its event when it
    /// succeeded. On failure its effects are rolled back to the savepoint and the failure is recorded (attempts and
    /// backoff, or the dead letters). When the previous delivery left the transaction failed, its first statement
    /// throws <see cref="PostgresErrorCodes.InFailedSqlTransaction"/> before anything of this delivery happened.
    /// The delivery that failed in the run's first pass has that failure recorded without being called again.
    /// </summary>
    private async Task<CloudEvent?> DeliverAsync(
        NpgsqlTransaction transaction, EventSubscription subscription, QueuedDelivery delivery, FirstPassFailure? firstPassFailure, CancellationToken cancellationToken)
    {
        CloudEvent cloudEvent;
        try
        {
            cloudEvent = JsonSerializer.Deserialize<CloudEvent>(delivery.Payload, PlatformJson.Options)!;
        }
        catch (JsonException malformed)
        {
            await DeadLetterAsync(transaction, delivery.Seq, subscription, null, $"malformed event: {malformed.Message}", delivery.Attempts + 1, cancellationToken);
            return null;
        }

        if (firstPassFailure?.Seq == delivery.Seq)
        {
            await RecordFailureAsync(transaction, subscription, delivery, cloudEvent, firstPassFailure.Outcome, firstPassFailure.Error, cancellationToken);
            return null;
        }

        // Named per delivery: rolling back to a savepoint that was never taken fails the whole run, where a shared
        // name would find the previous delivery's savepoint and undo a delivery that counts as handled.
        var savepoint = SavepointOf(delivery);
        DeliveryOutcome outcome;
        string? error = null;
        var recorded = false;
        try
        {
            var isNew = await RecordHandledAsync(transaction, subscription, cloudEvent, savepoint, cancellationToken);
            recorded = true;
            outcome = isNew ? await HandleAsync(subscription, cloudEvent, transaction, cancellationToken) : DeliveryOutcome.Success;
            if (outcome == DeliveryOutcome.Success)
            {
                return cloudEvent;
            }
        }
        catch (PostgresException failed) when (!recorded && failed.SqlState == PostgresErrorCodes.InFailedSqlTransaction)
        {
            // The previous delivery's doing (see the class's remarks): the caller charges it there.
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: this delivery neither succeeded nor failed; the ones before it are still committed.
            await transaction.RollbackAsync(savepoint, CancellationToken.None);
            return null;
        }
        catch (Exception failure)
        {
            outcome = DeliveryOutcome.Retry;
            error = Describe(failure);
        }

        await transaction.RollbackAsync(savepoint, cancellationToken);
        await RecordFailureAsync(transaction, subscription, delivery, cloudEvent, outcome, error, cancellationToken);
        return null;
    }

    /// <summary>A failure as the delivery's error records it: the exception's type and message.</summary>
    private static string Describe(Exception failure) => $"{failure.GetType().FullName}: {failure.Message}";

    private static string SavepointOf(QueuedDelivery delivery) => string.Create(CultureInfo.InvariantCulture, $"delivery_{delivery.Seq}");

    private async Task RecordFailureAsync(
        NpgsqlTransaction transaction, EventSubscription subscription, QueuedDelivery delivery, CloudEvent cloudEvent, DeliveryOutcome outcome, string? error, CancellationToken cancellationToken)
    {
        var attempts = delivery.Attempts + 1;
        if (outcome == DeliveryOutcome.Drop || attempts >= _options.MaxAttempts)
        {
            error ??= outcome == DeliveryOutcome.Drop ? "dropped by the handler" : "the handler asked to retry";
            logger.LogWarning("Event {EventId} on {Topic} goes to the dead letters of {Consumer} after {Attempts} attempts: {Error}",
                cloudEvent.Id, subscription.Topic, subscription.Consumer, attempts, error);
            await DeadLetterAsync(transaction, delivery.Seq, subscription, cloudEvent, error, attempts, cancellationToken);
            return;
        }

        await transaction.Connection!.ExecuteAsync(transaction,
            "UPDATE platform.deliveries SET attempts = @attempts, next_attempt_at = clock_timestamp() + @delay, last_error = @error WHERE seq = @seq",
            cancellationToken, ("seq", delivery.Seq), ("attempts", attempts), ("delay", RetryDelay(attempts, _options)), ("error", error ?? "the handler asked to retry"));
        metrics.Finished(subscription, "retry");
    }

    /// <summary>Moves the delivery to <c>platform.dead_letters</c> and, when the subscription names one, publishes it to its dead-letter topic.</summary>
    private async Task DeadLetterAsync(
        NpgsqlTransaction transaction, long seq, EventSubscription subscription, CloudEvent? cloudEvent, string error, int attempts, CancellationToken cancellationToken)
    {
        await transaction.Connection!.ExecuteAsync(transaction, """
            INSERT INTO platform.dead_letters (consumer, topic, subject, event_id, payload, error, attempts)
            SELECT consumer, topic, subject, event_id, payload, @error, @attempts FROM platform.deliveries WHERE seq = @seq;
            DELETE FROM platform.deliveries WHERE seq = @seq;
            """, cancellationToken, ("seq", seq), ("error", error), ("attempts", attempts));
        if (subscription.DeadLetterTopic is { } deadLetterTopic && cloudEvent is not null)
        {
            await InProcessPublisher.EnqueueAsync(transaction.Connection!, transaction, registry, deadLetterTopic, cloudEvent, cancellationToken);
        }

        metrics.Finished(subscription, "dead_letter");
    }

    /// <summary>A claimed row of <c>platform.deliveries</c>; <paramref name="RecordedNow"/> when its claim recorded its event as handled.</summary>
    private sealed record QueuedDelivery(long Seq, string Subject, string EventId, string Payload, int Attempts, bool RecordedNow);

    /// <summary>A run to do again one delivery at a time, with the delivery that failed in its first pass when one did.</summary>
    private sealed record RunAgain(FirstPassFailure? Failure);

    /// <summary>What the first pass saw of the delivery that failed in it.</summary>
    private sealed record FirstPassFailure(long Seq, DeliveryOutcome Outcome, string? Error);
}
