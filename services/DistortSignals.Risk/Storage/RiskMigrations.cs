using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Postgres.Migrations;

namespace DistortSignals.Risk.Storage;

/// <summary>The risk schema. Migrations are only ever added, never edited; the SQL names tables without the schema.</summary>
internal static class RiskMigrations
{
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "accounts, decisions and the operations audit", """
            CREATE TABLE accounts (
                account text PRIMARY KEY,
                spec jsonb NOT NULL,
                snapshot jsonb,
                symbols text[] NOT NULL DEFAULT '{}',
                updated_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX accounts_symbols ON accounts USING gin (symbols);

            CREATE TABLE decisions (
                id text PRIMARY KEY,
                account text NOT NULL,
                signal_id text NOT NULL,
                strategy text NOT NULL,
                symbol text NOT NULL,
                verdict text NOT NULL,
                lots double precision NOT NULL,
                directive_id text,
                payload jsonb NOT NULL,
                decided_at timestamptz NOT NULL);
            CREATE INDEX decisions_time ON decisions (decided_at DESC, id);
            CREATE INDEX decisions_account_time ON decisions (account, decided_at DESC);

            CREATE TABLE audit (
                id bigserial PRIMARY KEY,
                account text NOT NULL,
                action text NOT NULL,
                detail jsonb NOT NULL,
                key_id text,
                key_name text,
                at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX audit_account ON audit (account, id DESC);
            """),
        MessagingMigrations.Outbox(2),
        MessagingMigrations.HandledEvents(3),
        new(4, "the account actor's state, committed with each turn's events", """
            ALTER TABLE accounts ADD COLUMN actor_state jsonb, ADD COLUMN turn bigint NOT NULL DEFAULT 0;
            """),
    ];
}
