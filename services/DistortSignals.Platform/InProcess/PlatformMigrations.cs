using DistortSignals.Platform.Postgres.Migrations;

namespace DistortSignals.Platform.InProcess;

/// <summary>The tables of the in-process platform, in schema <c>platform</c>.</summary>
public static class PlatformMigrations
{
    public const string Schema = "platform";

    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "deliveries and dead letters", """
            CREATE TABLE deliveries (
                seq bigserial PRIMARY KEY,
                consumer text NOT NULL,
                topic text NOT NULL,
                subject text NOT NULL,
                event_id text NOT NULL,
                payload jsonb NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                last_error text,
                created_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (consumer, topic, event_id));
            CREATE INDEX deliveries_by_subject ON deliveries (consumer, topic, subject, seq);

            CREATE TABLE dead_letters (
                id bigserial PRIMARY KEY,
                consumer text NOT NULL,
                topic text NOT NULL,
                subject text NOT NULL,
                event_id text NOT NULL,
                payload jsonb NOT NULL,
                error text NOT NULL,
                attempts integer NOT NULL,
                failed_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX dead_letters_by_consumer ON dead_letters (consumer, failed_at);
            """),
        new(2, "state", """
            CREATE TABLE state (
                key text PRIMARY KEY,
                value jsonb NOT NULL,
                etag uuid NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now());
            """),
        new(3, "reminders", """
            CREATE TABLE reminders (
                actor_type text NOT NULL,
                actor_id text NOT NULL,
                name text NOT NULL,
                data jsonb,
                due_at timestamptz NOT NULL,
                period interval,
                locked_until timestamptz,
                PRIMARY KEY (actor_type, actor_id, name));
            CREATE INDEX reminders_by_due_at ON reminders (due_at);
            """),
    ];
}
