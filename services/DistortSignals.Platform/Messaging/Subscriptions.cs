using Npgsql;

namespace DistortSignals.Platform.Messaging;

/// <summary>What a handler says about one delivery, as Dapr's SUCCESS, RETRY and DROP.</summary>
public enum DeliveryOutcome
{
    /// <summary>Handled (or already handled before): acknowledge.</summary>
    Success,

    /// <summary>A passing problem: deliver again later, with backoff; after the retry limit it goes to the dead letters.</summary>
    Retry,

    /// <summary>Can never succeed (malformed, unknown type): do not retry; it goes to the dead letters.</summary>
    Drop,
}

/// <summary>
/// Handles one event inside the consuming module's database transaction. The platform records the
/// event id as handled by this consumer in the same transaction, so a redelivered event is
/// acknowledged without running the handler again (at-least-once delivery, exactly-once effect).
/// Anything the handler publishes goes through <see cref="IOutbox"/> with the same transaction.
/// </summary>
public delegate Task<DeliveryOutcome> EventHandler(CloudEvent cloudEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken);

/// <summary>
/// Handles a run of events, in queue order, in one call inside the consuming module's database transaction: the same
/// work as the subscription's <see cref="EventHandler"/> does for each of them, so that a handler can put a run's
/// statements in one round trip. It answers for the run as a whole; any answer but success (or a throw) rolls the
/// whole run back, and the events go again one at a time through the <see cref="EventHandler"/>, which answers for each.
/// </summary>
public delegate Task<DeliveryOutcome> EventRunHandler(IReadOnlyList<CloudEvent> cloudEvents, NpgsqlTransaction transaction, CancellationToken cancellationToken);

/// <summary>
/// A module's subscription: <see cref="Consumer"/> names the consumer (dedupe and dead letters are per
/// consumer; replicas of a role share it), <see cref="Schema"/> is the module's schema where its dedupe
/// records live. In Dapr mode the subscriptions of a topic become one entry of <c>/dapr/subscribe</c> with route
/// <c>/dapr/events/{Topic}</c> and the dead-letter topic (Dapr takes one subscription per topic and app).
/// <see cref="Background"/>: the handler's work may wait behind the other subscriptions' (bookkeeping such as marking
/// prices, which no one waits for). The in-process platform then starts its runs when no other subscription's run
/// is in flight, or once its oldest due delivery has waited <see cref="InProcess.InProcessPlatformOptions.BackgroundMaxWait"/>;
/// on one machine's cores, that leaves a burst's CPU to the work someone waits for. The delivery semantics are the
/// same; Dapr delivers it like any other.
/// <see cref="OnCommit"/>: for a consumer that keeps what it is given in this process's memory only (the hub's
/// clients), the in-process platform calls it with each event as soon as the transaction that published it commits,
/// in commit order. The event's queued delivery is then acknowledged without <see cref="Handler"/>, which handles
/// only what <see cref="OnCommit"/> missed (see <see cref="InProcess.DeliveryDispatcher"/>). Dapr does not call it.
/// <see cref="RunHandler"/>: the in-process platform gives it the events of a run that it tries at once (see
/// <see cref="InProcess.DeliveryDispatcher"/>) in one call instead of calling <see cref="Handler"/> for each; the events
/// go through <see cref="Handler"/> when the run is done again one at a time. It does not go with <see cref="OnCommit"/>.
/// Dapr delivers each event to <see cref="Handler"/>.
/// </summary>
public sealed record EventSubscription(
    string Consumer,
    string Schema,
    string Topic,
    EventHandler Handler,
    string? DeadLetterTopic = null,
    bool Background = false,
    Action<CloudEvent>? OnCommit = null,
    EventRunHandler? RunHandler = null);

/// <summary>Where modules declare their subscriptions at start-up; the platform delivers to them.</summary>
public interface ISubscriptionRegistry
{
    void Subscribe(EventSubscription subscription);

    IReadOnlyList<EventSubscription> Subscriptions { get; }
}

/// <summary>
/// The transactional outbox: a module adds the events of a state change in the transaction of that
/// change; a relay publishes them afterwards and marks them sent. The rows are kept as the module's
/// audit log (pruned by age).
/// </summary>
public interface IOutbox
{
    /// <summary>
    /// Appends to <paramref name="batch"/> the statements that add the events of one topic, in order, after the
    /// caller's own: the change and its events then go to the database in one round trip, in the batch's transaction.
    /// </summary>
    void AddTo(NpgsqlBatch batch, string schema, string topic, IReadOnlyList<CloudEvent> cloudEvents);

    /// <summary>Adds the events of one topic, in order, in a round trip of their own.</summary>
    async Task AddRangeAsync(NpgsqlTransaction transaction, string schema, string topic, IReadOnlyList<CloudEvent> cloudEvents, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction);
        AddTo(batch, schema, topic, cloudEvents);
        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    Task AddAsync(NpgsqlTransaction transaction, string schema, string topic, CloudEvent cloudEvent, CancellationToken cancellationToken) =>
        AddRangeAsync(transaction, schema, topic, [cloudEvent], cancellationToken);
}

/// <summary>
/// Publishes an event to a topic: the in-process platform hands it to the local subscribers' durable
/// queues; the Dapr platform posts it to the sidecar. Only the outbox relay calls this; modules use
/// <see cref="IOutbox"/>.
/// </summary>
public interface IEventPublisher
{
    Task PublishEventAsync(string topic, CloudEvent cloudEvent, CancellationToken cancellationToken);
}
