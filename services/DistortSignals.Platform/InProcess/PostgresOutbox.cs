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
    public async Task AddAsync(NpgsqlTransaction transaction, string schema, string topic, CloudEvent cloudEvent, CancellationToken cancellationToken)
    {
        PostgresIdentifier.Require(schema, nameof(schema));
        await using var command = new NpgsqlCommand($"""
            INSERT INTO {schema}.outbox (id, topic, subject, type, payload) VALUES (@id, @topic, @subject, @type, @payload)
            ON CONFLICT (topic, id) DO NOTHING;
            SELECT pg_notify(@channel, '');
            """, transaction.Connection, transaction);
        command.Parameters.AddWithValue("id", cloudEvent.Id);
        command.Parameters.AddWithValue("topic", topic);
        command.Parameters.AddWithValue("subject", cloudEvent.Subject);
        command.Parameters.AddWithValue("type", cloudEvent.Type);
        command.Parameters.AddWithValue("payload", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(cloudEvent, PlatformJson.Options));
        command.Parameters.AddWithValue("channel", ChannelFor(schema));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The LISTEN/NOTIFY channel on which the relay of <paramref name="schema"/> is woken.</summary>
    public static string ChannelFor(string schema) => "outbox_" + schema;
}
