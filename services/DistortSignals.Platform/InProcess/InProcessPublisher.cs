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

    /// <summary>Adds the deliveries of <paramref name="cloudEvent"/> to every subscriber of <paramref name="topic"/>; returns how many were new.</summary>
    internal static async Task<int> EnqueueAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, ISubscriptionRegistry subscriptions, string topic, CloudEvent cloudEvent, CancellationToken cancellationToken)
    {
        var consumers = subscriptions.Subscriptions.Where(s => s.Topic == topic).Select(s => s.Consumer).ToArray();
        if (consumers.Length == 0)
        {
            return 0;
        }

        await using var command = new NpgsqlCommand("""
            INSERT INTO platform.deliveries (consumer, topic, subject, event_id, payload)
            SELECT consumer, @topic, @subject, @eventId, @payload FROM unnest(@consumers) AS consumer
            ON CONFLICT (consumer, topic, event_id) DO NOTHING
            """, connection, transaction);
        command.Parameters.AddWithValue("topic", topic);
        command.Parameters.AddWithValue("subject", cloudEvent.Subject);
        command.Parameters.AddWithValue("eventId", cloudEvent.Id);
        command.Parameters.AddWithValue("payload", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(cloudEvent with { Topic = topic }, PlatformJson.Options));
        command.Parameters.AddWithValue("consumers", consumers);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
