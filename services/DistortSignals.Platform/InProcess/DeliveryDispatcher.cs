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
/// subject), only the oldest delivery (the head) is ever handled, and only once it is due, so events of one
/// subject are handled in order and a failing event holds back the later events of its subject only.
/// Up to <see cref="InProcessPlatformOptions.DeliveryParallelism"/> subjects per consumer run at once.
/// <para>
/// A head is claimed with <c>FOR UPDATE SKIP LOCKED</c> in the very transaction in which the handler runs
/// and the delivery is deleted, so dispatchers of several replicas may run together: a claimed head is
/// skipped by the others, and a crash simply releases it. The failure bookkeeping (attempts, backoff, dead
/// letter) happens in the same transaction after rolling back to a savepoint taken before the handler.
/// </para>
/// </summary>
public sealed class DeliveryDispatcher(
    NpgsqlDataSource dataSource,
    ISubscriptionRegistry registry,
    IOptions<InProcessPlatformOptions> options,
    ILogger<DeliveryDispatcher> logger) : BackgroundService
{
    private readonly InProcessPlatformOptions _options = options.Value;
    private readonly AsyncSignal _wake = new();

    /// <summary>New deliveries exist or a subject became free: look again now rather than at the next poll.</summary>
    public void Wake() => _wake.Set();

    /// <summary>
    /// Records the event as handled by the subscription's consumer in <paramref name="transaction"/> and runs
    /// the handler, unless the record already existed: then the event was handled before and is acknowledged.
    /// </summary>
    public static async Task<DeliveryOutcome> HandleOnceAsync(
        NpgsqlTransaction transaction, EventSubscription subscription, CloudEvent cloudEvent, CancellationToken cancellationToken)
    {
        var schema = PostgresIdentifier.Require(subscription.Schema, "subscription schema");
        await using var record = new NpgsqlCommand(
            $"INSERT INTO {schema}.handled_events (consumer, topic, event_id) VALUES (@consumer, @topic, @eventId) ON CONFLICT DO NOTHING",
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
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

    /// <summary>Starts the due heads that fit the parallelism; returns how long to wait before looking again.</summary>
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

        await using var command = dataSource.CreateCommand("""
            SELECT DISTINCT ON (consumer, topic, subject)
                seq, consumer, topic, subject, greatest(next_attempt_at - clock_timestamp(), interval '0')
            FROM platform.deliveries
            WHERE consumer = ANY(@consumers)
            ORDER BY consumer, topic, subject, seq
            """);
        command.Parameters.AddWithValue("consumers", subscriptions.Keys.Select(k => k.Consumer).Distinct().ToArray());
        await using var reader = await command.ExecuteReaderAsync(stoppingToken);
        while (await reader.ReadAsync(stoppingToken))
        {
            var (seq, consumer, topic, subject, dueIn) = (reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetTimeSpan(4));
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

            inFlight[(consumer, topic, subject)] = Task.Run(() => RunDeliveryAsync(seq, subscription, stoppingToken), CancellationToken.None);
        }

        return wait;
    }

    private async Task RunDeliveryAsync(long seq, EventSubscription subscription, CancellationToken stoppingToken)
    {
        try
        {
            await DeliverAsync(seq, subscription, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the transaction rolled back and the delivery waits for the next start.
        }
        catch (Exception error)
        {
            logger.LogError(error, "Delivery {Seq} to {Consumer} could not be processed; it stays queued", seq, subscription.Consumer);
        }
        finally
        {
            _wake.Set();
        }
    }

    private async Task DeliverAsync(long seq, EventSubscription subscription, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var claim = new NpgsqlCommand("""
            SELECT d.payload::text, d.attempts FROM platform.deliveries d
            WHERE d.seq = @seq AND d.next_attempt_at <= clock_timestamp()
              AND NOT EXISTS (SELECT 1 FROM platform.deliveries e
                              WHERE e.consumer = d.consumer AND e.topic = d.topic AND e.subject = d.subject AND e.seq < d.seq)
            FOR UPDATE SKIP LOCKED
            """, connection, transaction);
        claim.Parameters.AddWithValue("seq", seq);
        string payload;
        int attempts;
        await using (var reader = await claim.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                // Handled meanwhile, claimed by another dispatcher, or no longer the head of its subject.
                return;
            }

            (payload, attempts) = (reader.GetString(0), reader.GetInt32(1));
        }

        CloudEvent cloudEvent;
        try
        {
            cloudEvent = JsonSerializer.Deserialize<CloudEvent>(payload, PlatformJson.Options)!;
        }
        catch (JsonException malformed)
        {
            await DeadLetterAsync(transaction, seq, subscription, null, $"malformed event: {malformed.Message}", attempts + 1, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return;
        }

        await transaction.SaveAsync("handler", cancellationToken);
        DeliveryOutcome outcome;
        string? error = null;
        try
        {
            outcome = await HandleOnceAsync(transaction, subscription, cloudEvent, cancellationToken);
        }
        catch (Exception failure) when (!cancellationToken.IsCancellationRequested)
        {
            outcome = DeliveryOutcome.Retry;
            error = $"{failure.GetType().FullName}: {failure.Message}";
        }

        if (outcome == DeliveryOutcome.Success)
        {
            await transaction.Connection!.ExecuteAsync(transaction, "DELETE FROM platform.deliveries WHERE seq = @seq", cancellationToken, ("seq", seq));
            await transaction.CommitAsync(cancellationToken);
            return;
        }

        await transaction.RollbackAsync("handler", cancellationToken);
        attempts++;
        if (outcome == DeliveryOutcome.Drop || attempts >= _options.MaxAttempts)
        {
            error ??= outcome == DeliveryOutcome.Drop ? "dropped by the handler" : "the handler asked to retry";
            logger.LogWarning("Event {EventId} on {Topic} goes to the dead letters of {Consumer} after {Attempts} attempts: {Error}",
                cloudEvent.Id, subscription.Topic, subscription.Consumer, attempts, error);
            await DeadLetterAsync(transaction, seq, subscription, cloudEvent, error, attempts, cancellationToken);
        }
        else
        {
            await transaction.Connection!.ExecuteAsync(transaction,
                "UPDATE platform.deliveries SET attempts = @attempts, next_attempt_at = clock_timestamp() + @delay, last_error = @error WHERE seq = @seq",
                cancellationToken, ("seq", seq), ("attempts", attempts), ("delay", RetryDelay(attempts, _options)), ("error", error ?? "the handler asked to retry"));
        }

        await transaction.CommitAsync(cancellationToken);
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
}
