using System.Text.Json;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace DistortSignals.Platform.InProcess;

/// <summary>
/// Adds events to <c>&lt;schema&gt;.outbox</c> (see <see cref="MessagingMigrations.Outbox"/>) in the caller's
/// transaction and notifies the relay, which PostgreSQL delivers only when that transaction commits.
/// </summary>
public sealed class PostgresOutbox : IOutbox
{
    public void AddTo(NpgsqlBatch batch, string schema, string topic, IReadOnlyList<CloudEvent> cloudEvents)
    {
        PostgresIdentifier.Require(schema, nameof(schema));
        if (cloudEvents.Count == 0)
        {
            return;
        }

        // One statement for the whole batch, in the given order (WITH ORDINALITY), so that seq follows it.
        var add = new NpgsqlBatchCommand($"""
            INSERT INTO {schema}.outbox (id, topic, subject, type, payload)
            SELECT e.id, @topic, e.subject, e.type, e.payload
            FROM unnest(@ids, @subjects, @types, @payloads) WITH ORDINALITY AS e(id, subject, type, payload, n)
            ORDER BY e.n
            ON CONFLICT (topic, id) DO NOTHING
            """);
        add.Parameters.AddWithValue("topic", topic);
        add.Parameters.AddWithValue("ids", cloudEvents.Select(e => e.Id).ToArray());
        add.Parameters.AddWithValue("subjects", cloudEvents.Select(e => e.Subject).ToArray());
        add.Parameters.AddWithValue("types", cloudEvents.Select(e => e.Type).ToArray());
        add.Parameters.AddWithValue("payloads", NpgsqlDbType.Array | NpgsqlDbType.Jsonb, cloudEvents.Select(e => JsonSerializer.Serialize(e, PlatformJson.Options)).ToArray());
        var notify = new NpgsqlBatchCommand("SELECT pg_notify(@channel, '')");
        notify.Parameters.AddWithValue("channel", ChannelFor(schema));
        batch.BatchCommands.Add(add);
        batch.BatchCommands.Add(notify);
    }

    /// <summary>The LISTEN/NOTIFY channel on which the relay of <paramref name="schema"/> is woken.</summary>
    public static string ChannelFor(string schema) => "outbox_" + schema;
}
