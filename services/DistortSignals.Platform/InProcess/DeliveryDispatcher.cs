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
/// <see cref="InProcessPlatformOptions.DeliveryParallelism"/> subjects per consumer run at once. It looks for
/// work when woken: by the commit of a transaction that queued deliveries (a NOTIFY on
/// <see cref="InProcessOutbox.DeliveriesChannel"/>, from any replica), by <see cref="Wake"/>, or at the poll interval.
/// <para>
/// A subject's run of up to <see cref="InProcessPlatformOptions.DeliveryBatchSize"/> consecutive due
/// deliveries is handled in one transaction, each under a savepoint, and committed once: a commit (an fsync
/// on a durable server) per run instead of per event. The first failure ends the run; its bookkeeping
/// (attempts, backoff, dead letter) happens in the same transaction after rolling back to its savepoint, and
/// the deliveries handled before it are committed. The subject is claimed with a transaction advisory lock
/// (see <see cref="ClaimRunAsync"/>), so dispatchers of several replicas may run together.
/// </para>
/// </summary>
public sealed class DeliveryDispatcher(
    NpgsqlDataSource dataSource,
    ISubscriptionRegistry registry,
    IOptions<InProcessPlatformOptions> options,
    ILogger<DeliveryDispatcher> logger) : BackgroundService
{
    private const string Savepoint = "delivery";

    private readonly InProcessPlatformOptions _options = options.Value;
    private readonly AsyncSignal _wake = new();

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
    public static Task<DeliveryOutcome> HandleOnceAsync(
        NpgsqlTransaction transaction, EventSubscription subscription, CloudEvent cloudEvent, CancellationToken cancellationToken) =>
        HandleOnceAsync(transaction, subscription, cloudEvent, null, cancellationToken);

    /// <summary>As the public overload, taking <paramref name="savepoint"/> first in the same round trip as the record.</summary>
    private static async Task<DeliveryOutcome> HandleOnceAsync(
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
        return await record.ExecuteNonQueryAsync(cancellationToken) == 0
            ? DeliveryOutcome.Success
            : await subscription.Handler(cloudEvent, transaction, cancellationToken);
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
                [InProcessOutbox.DeliveriesChannel],
                _ => Wake(),
                listening: Wake,
                failed: error => logger.LogWarning(error, "Listening for new deliveries failed; polling until it reconnects"),
                _options.PollInterval,
                stoppingToken));

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

    /// <summary>Starts the subjects with a due head that fit the parallelism; returns how long to wait before looking again.</summary>
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
            SELECT consumer, topic, subject, greatest(next_attempt_at - clock_timestamp(), interval '0') FROM heads
            WHERE consumer = ANY(@consumers)
            ORDER BY seq
            """);
        command.Parameters.AddWithValue("consumers", subscriptions.Keys.Select(k => k.Consumer).Distinct().ToArray());
        await using var reader = await command.ExecuteReaderAsync(stoppingToken);
        while (await reader.ReadAsync(stoppingToken))
        {
            var (consumer, topic, subject, dueIn) = (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetTimeSpan(3));
            if (!subscriptions.TryGetValue((consumer, topic), out var subscription))
            {
                continue;
            }

            if (dueIn > TimeSpan.Zero)
            {
                wait = dueIn < wait ? dueIn : wait;
                continue;
            }

            if (inFlight.ContainsKey((consumer, topic, subject)) || inFlight.Keys.Count(k => k.Consumer == consumer) >= _options.DeliveryParallelism)
            {
                continue;
            }

            inFlight[(consumer, topic, subject)] = Task.Run(() => RunDeliveriesAsync(subscription, subject, stoppingToken), CancellationToken.None);
        }

        return wait;
    }

    private async Task RunDeliveriesAsync(EventSubscription subscription, string subject, CancellationToken stoppingToken)
    {
        try
        {
            await DeliverRunAsync(subscription, subject, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the transaction rolled back and the deliveries wait for the next start.
        }
        catch (Exception error)
        {
            logger.LogError(error, "Deliveries of subject {Subject} on {Topic} to {Consumer} could not be processed; they stay queued",
                subject, subscription.Topic, subscription.Consumer);
        }
        finally
        {
            _wake.Set();
        }
    }

    /// <summary>
    /// Handles a run of the subject's oldest due deliveries in one transaction, each under a savepoint: the
    /// handled ones are deleted in one statement and committed together; the first failure is recorded and
    /// ends the run, so the later deliveries of the subject stay behind it.
    /// </summary>
    private async Task DeliverRunAsync(EventSubscription subscription, string subject, CancellationToken stoppingToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
        await using var transaction = await connection.BeginTransactionAsync(stoppingToken);
        var run = await ClaimRunAsync(transaction, subscription, subject, stoppingToken);
        var handled = new List<long>(run.Count);
        foreach (var delivery in run)
        {
            // Stopping: what is handled so far is committed below; the rest waits for the next start.
            if (stoppingToken.IsCancellationRequested || !await DeliverAsync(transaction, subscription, delivery, _abort.Token))
            {
                break;
            }

            handled.Add(delivery.Seq);
        }

        if (handled.Count > 0)
        {
            await connection.ExecuteAsync(transaction, "DELETE FROM platform.deliveries WHERE seq = ANY(@seqs)", CancellationToken.None, ("seqs", handled.ToArray()));
        }

        await transaction.CommitAsync(CancellationToken.None);
    }

    /// <summary>
    /// Takes the subject's transaction advisory lock and reads up to <see cref="InProcessPlatformOptions.DeliveryBatchSize"/>
    /// of its oldest deliveries, stopping before the first that is not due; empty when another dispatcher holds the subject.
    /// <para>
    /// The lock, rather than row locks, is what makes dispatchers of several replicas safe together: whoever
    /// holds it is the only one handling the subject, whichever rows it sees, even a delivery whose lower seq
    /// commits late. It is tried, not waited for, so a busy subject is simply skipped, and it goes with the
    /// transaction, so a crash releases it. The rows are read by a later statement, whose snapshot therefore
    /// includes everything the previous holder committed.
    /// </para>
    /// </summary>
    private async Task<List<QueuedDelivery>> ClaimRunAsync(
        NpgsqlTransaction transaction, EventSubscription subscription, string subject, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        await using (var lockCommand = new NpgsqlCommand(
            "SELECT pg_try_advisory_xact_lock(hashtextextended('delivery:' || @consumer || '/' || @topic || '/' || @subject, 0))", connection, transaction))
        {
            AddSubjectParameters(lockCommand, subscription, subject);
            if (!(bool)(await lockCommand.ExecuteScalarAsync(cancellationToken))!)
            {
                return [];
            }
        }

        await using var select = new NpgsqlCommand("""
            SELECT seq, payload::text, attempts, next_attempt_at <= clock_timestamp() FROM platform.deliveries
            WHERE consumer = @consumer AND topic = @topic AND subject = @subject
            ORDER BY seq LIMIT @limit
            """, connection, transaction);
        AddSubjectParameters(select, subscription, subject);
        select.Parameters.AddWithValue("limit", Math.Max(1, _options.DeliveryBatchSize));
        var run = new List<QueuedDelivery>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken) && reader.GetBoolean(3))
        {
            run.Add(new QueuedDelivery(reader.GetInt64(0), reader.GetString(1), reader.GetInt32(2)));
        }

        return run;
    }

    private static void AddSubjectParameters(NpgsqlCommand command, EventSubscription subscription, string subject)
    {
        command.Parameters.AddWithValue("consumer", subscription.Consumer);
        command.Parameters.AddWithValue("topic", subscription.Topic);
        command.Parameters.AddWithValue("subject", subject);
    }

    /// <summary>
    /// Handles one delivery under a savepoint; returns whether it succeeded. On failure its effects are rolled
    /// back to the savepoint and the failure is recorded (attempts and backoff, or the dead letters).
    /// </summary>
    private async Task<bool> DeliverAsync(NpgsqlTransaction transaction, EventSubscription subscription, QueuedDelivery delivery, CancellationToken cancellationToken)
    {
        CloudEvent cloudEvent;
        try
        {
            cloudEvent = JsonSerializer.Deserialize<CloudEvent>(delivery.Payload, PlatformJson.Options)!;
        }
        catch (JsonException malformed)
        {
            await DeadLetterAsync(transaction, delivery.Seq, subscription, null, $"malformed event: {malformed.Message}", delivery.Attempts + 1, cancellationToken);
            return false;
        }

        DeliveryOutcome outcome;
        string? error = null;
        try
        {
            outcome = await HandleOnceAsync(transaction, subscription, cloudEvent, Savepoint, cancellationToken);
            if (outcome == DeliveryOutcome.Success)
            {
                // Inside the try: a handler that swallowed a database error leaves the transaction aborted,
                // which shows here and must fail this delivery only, not the run before it.
                await transaction.ReleaseAsync(Savepoint, cancellationToken);
                return true;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: this delivery neither succeeded nor failed; the ones before it are still committed.
            await transaction.RollbackAsync(Savepoint, CancellationToken.None);
            return false;
        }
        catch (Exception failure)
        {
            outcome = DeliveryOutcome.Retry;
            error = $"{failure.GetType().FullName}: {failure.Message}";
        }

        await transaction.RollbackAsync(Savepoint, cancellationToken);
        await RecordFailureAsync(transaction, subscription, delivery, cloudEvent, outcome, error, cancellationToken);
        return false;
    }

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
    }

    /// <summary>A claimed row of <c>platform.deliveries</c>.</summary>
    private sealed record QueuedDelivery(long Seq, string Payload, int Attempts);
}
