using DistortSignals.Platform.Postgres.Migrations;

namespace DistortSignals.Platform.InProcess;

/// <summary>
/// The messaging tables every module keeps in its own schema, one definition for all: a module puts these
/// migrations in its list with versions of its own sequence.
/// </summary>
public static class MessagingMigrations
{
    /// <summary>
    /// <c>outbox</c>: the events of the module's state changes, written in the same transaction, published by
    /// the relay and kept as the module's audit log. (topic, id) is unique, so a repeated deterministic id adds nothing.
    /// </summary>
    public static Migration Outbox(int version) => new(version, "outbox", """
        CREATE TABLE outbox (
            seq bigserial PRIMARY KEY,
            id text NOT NULL,
            topic text NOT NULL,
            subject text NOT NULL,
            type text NOT NULL,
            payload jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            sent_at timestamptz,
            UNIQUE (topic, id));
        CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
        CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
        """);

    /// <summary>
    /// <c>handled_events</c>: the events each consumer of the module has handled, written in the handler's
    /// transaction, so a redelivered event is acknowledged without running the handler again.
    /// </summary>
    public static Migration HandledEvents(int version) => new(version, "handled events", """
        CREATE TABLE handled_events (
            consumer text NOT NULL,
            topic text NOT NULL,
            event_id text NOT NULL,
            handled_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, topic, event_id));
        """);
}
