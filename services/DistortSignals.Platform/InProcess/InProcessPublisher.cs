using System.Text.Json;
using DistortSignals.Platform.Messaging;
using Npgsql;
using NpgsqlTypes;

namespace DistortSignals.Platform.InProcess;

/// <summary>
/// Publishes by adding one durable row to <c>platform.deliveries</c> per subscription of the topic, then
/// wakes the local dispatcher. (consumer, topic, event id) is unique, so publishing an event again while
/// it waits adds nothing; once handled, a repeated event is recognised by the consumer's handled_events.
/// </summary>
public sealed class InProcessPublisher(NpgsqlDataSource dataSource, ISubscriptionRegistry subscriptions, DeliveryDispatcher dispatcher) : IEventPublisher
{
    public async Task PublishEventAsync(string topic, CloudEvent cloudEvent, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await EnqueueAsync(connection, null, subscriptions, topic, cloudEvent, cancellationToken) > 0)
        {
            dispatcher.Wake();
        }
    }

    /// <summary>
    /// Publishes <paramref name="events"/>, in order, with one statement in <paramref name="transaction"/>, so
    /// that they are delivered only if it commits; call <see cref="Committed"/> once it has.
    /// </summary>
    internal Task<int> PublishInTransactionAsync(
        NpgsqlTransaction transaction, IReadOnlyList<(string Topic, CloudEvent CloudEvent)> events, CancellationToken cancellationToken) =>
        EnqueueRangeAsync(transaction.Connection!, transaction, subscriptions, events, cancellationToken);

    /// <summary>Wakes the dispatcher for the deliveries of a committed <see cref="PublishInTransactionAsync"/>.</summary>
    internal void Committed() => dispatcher.Wake();

    /// <summary>Adds the deliveries of <paramref name="cloudEvent"/> to every subscriber of <paramref name="topic"/>; returns how many were new.</summary>
    internal static Task<int> EnqueueAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, ISubscriptionRegistry subscriptions, string topic, CloudEvent cloudEvent, CancellationToken cancellationToken) =>
        EnqueueRangeAsync(connection, transaction, subscriptions, [(topic, cloudEvent)], cancellationToken);

    /// <summary>Adds the deliveries of <paramref name="events"/> to every subscriber of their topics, in order; returns how many were new.</summary>
    private static async Task<int> EnqueueRangeAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction? transaction,
        ISubscriptionRegistry subscriptions,
        IReadOnlyList<(string Topic, CloudEvent CloudEvent)> events,
        CancellationToken cancellationToken)
    {
        var topics = events.Select(e => e.Topic).ToHashSet();
        var subscribed = subscriptions.Subscriptions.Where(s => topics.Contains(s.Topic)).ToList();
        var subscribedTopics = subscribed.Select(s => s.Topic).ToHashSet();
        var published = events.Where(e => subscribedTopics.Contains(e.Topic)).ToList();
        if (published.Count == 0)
        {
            return 0;
        }

        // One statement for the whole batch, in the given order (WITH ORDINALITY), so that seq follows it.
        await using var command = new NpgsqlCommand("""
            INSERT INTO platform.deliveries (consumer, topic, subject, event_id, payload)
            SELECT s.consumer, e.topic, e.subject, e.event_id, e.payload
            FROM unnest(@topics, @subjects, @eventIds, @payloads) WITH ORDINALITY AS e(topic, subject, event_id, payload, n)
            JOIN unnest(@subscribedTopics, @consumers) AS s(topic, consumer) ON s.topic = e.topic
            ORDER BY e.n, s.consumer
            ON CONFLICT (consumer, topic, event_id) DO NOTHING
            """, connection, transaction);
        command.Parameters.AddWithValue("topics", published.Select(e => e.Topic).ToArray());
        command.Parameters.AddWithValue("subjects", published.Select(e => e.CloudEvent.Subject).ToArray());
        command.Parameters.AddWithValue("eventIds", published.Select(e => e.CloudEvent.Id).ToArray());
        command.Parameters.AddWithValue("payloads", NpgsqlDbType.Array | NpgsqlDbType.Jsonb,
            published.Select(e => JsonSerializer.Serialize(e.CloudEvent with { Topic = e.Topic }, PlatformJson.Options)).ToArray());
        command.Parameters.AddWithValue("subscribedTopics", subscribed.Select(s => s.Topic).ToArray());
        command.Parameters.AddWithValue("consumers", subscribed.Select(s => s.Consumer).ToArray());
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
