using System.Text.Json;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DistortSignals.Platform.InProcess;

/// <summary>
/// The outbox of the in-process platform, whose broker (<c>platform.deliveries</c>) is in the same database as
/// the modules: the statement that adds the outbox rows, as sent, also queues their deliveries to every
/// subscriber, in the caller's transaction. Publishing is then exactly as atomic as the module's change, and an
/// event reaches its consumers one commit after it was made instead of two (no relay transaction between). The
/// rows stay the module's audit log; <see cref="OutboxRelay"/> still publishes rows written unsent (by
/// <see cref="PostgresOutbox"/>, as on the Dapr platform, or before this outbox existed).
/// </summary>
public sealed class InProcessOutbox(IServiceProvider services) : IOutbox
{
    // Resolved at first use: the registry holds the handlers, and the handlers depend on this outbox.
    private readonly Lazy<ISubscriptionRegistry> _subscriptions = new(services.GetRequiredService<ISubscriptionRegistry>);

    /// <summary>The LISTEN/NOTIFY channel on which the dispatchers are told of new deliveries; delivered on commit.</summary>
    public const string DeliveriesChannel = "platform_deliveries";

    /// <summary>
    /// The LISTEN/NOTIFY channel that carries each new event of a topic with an <see cref="EventSubscription.OnCommit"/>
    /// subscription, as its CloudEvent JSON; delivered on commit, in commit order.
    /// </summary>
    public const string EventsChannel = "platform_events";

    /// <summary>PostgreSQL's limit: a notification's payload must be shorter than this many bytes. A larger event is only queued.</summary>
    public const int MaxNotifiedBytes = 8000;

    public void AddTo(NpgsqlBatch batch, string schema, string topic, IReadOnlyList<CloudEvent> cloudEvents)
    {
        PostgresIdentifier.Require(schema, nameof(schema));
        if (cloudEvents.Count == 0)
        {
            return;
        }

        // One statement: the rows that are new (a repeated id adds nothing), in the given order, a delivery of each
        // to every consumer of the topic, ordered the same way so that seq follows it, and, when a subscription wants
        // them at the commit, a notification of each.
        var subscriptions = _subscriptions.Value.Subscriptions.Where(s => s.Topic == topic).ToList();
        var add = new NpgsqlBatchCommand($"""
            WITH events AS (
                SELECT * FROM unnest(@ids, @subjects, @types, @payloads) WITH ORDINALITY AS e(id, subject, type, payload, n)),
            added AS (
                INSERT INTO {schema}.outbox (id, topic, subject, type, payload, sent_at)
                SELECT e.id, @topic, e.subject, e.type, e.payload::jsonb, now() FROM events e
                ORDER BY e.n
                ON CONFLICT (topic, id) DO NOTHING
                RETURNING seq, id, subject, payload),
            queued AS (
                INSERT INTO platform.deliveries (consumer, topic, subject, event_id, payload)
                SELECT c.consumer, @topic, a.subject, a.id, a.payload
                FROM added a CROSS JOIN unnest(@consumers) AS c(consumer)
                ORDER BY a.seq, c.consumer
                ON CONFLICT (consumer, topic, event_id) DO NOTHING)
            SELECT pg_notify('{EventsChannel}', e.payload) FROM events e JOIN added a USING (id)
            WHERE @notify AND octet_length(e.payload) < {MaxNotifiedBytes}
            ORDER BY e.n
            """);
        add.Parameters.AddWithValue("topic", topic);
        add.Parameters.AddWithValue("ids", cloudEvents.Select(e => e.Id).ToArray());
        add.Parameters.AddWithValue("subjects", cloudEvents.Select(e => e.Subject).ToArray());
        add.Parameters.AddWithValue("types", cloudEvents.Select(e => e.Type).ToArray());
        add.Parameters.AddWithValue("payloads", cloudEvents.Select(e => JsonSerializer.Serialize(e with { Topic = topic }, PlatformJson.Options)).ToArray());
        add.Parameters.AddWithValue("consumers", subscriptions.Select(s => s.Consumer).Distinct().ToArray());
        add.Parameters.AddWithValue("notify", subscriptions.Any(s => s.OnCommit is not null));
        batch.BatchCommands.Add(add);
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"SELECT pg_notify('{DeliveriesChannel}', '')"));
    }
}
