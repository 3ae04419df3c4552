using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Postgres.Migrations;

namespace DistortSignals.Gateway.Storage;

/// <summary>
/// The gateway schema. Migrations are only ever added, never edited (their checksums are checked at start);
/// the runner sets the search path to the schema, so the SQL names tables without it.
/// </summary>
internal static class GatewayMigrations
{
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "directives, accepted reports, accounts and latest prices", """
            CREATE TABLE directives (
                id text PRIMARY KEY,
                account text NOT NULL,
                symbol text NOT NULL,
                state text NOT NULL,
                directive jsonb NOT NULL,
                created_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                terminal_id text,
                claimed_at timestamptz,
                lease_until timestamptz,
                reason text,
                report jsonb,
                updated_at timestamptz NOT NULL,
                received_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX directives_pending ON directives (account, created_at) WHERE state = 'Pending';
            CREATE INDEX directives_pending_expiry ON directives (expires_at) WHERE state = 'Pending';
            CREATE INDEX directives_claimed_lease ON directives (lease_until) WHERE state = 'Claimed';
            CREATE INDEX directives_created ON directives (created_at DESC, id);

            CREATE TABLE reports (
                account text NOT NULL,
                report_id text NOT NULL,
                directive_id text NOT NULL,
                request jsonb NOT NULL,
                answer jsonb NOT NULL,
                received_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (account, report_id));

            CREATE TABLE accounts (
                account text PRIMARY KEY,
                spec_trading_enabled boolean NOT NULL DEFAULT true,
                trading_enabled boolean,
                breaker text NOT NULL DEFAULT 'Closed',
                state_sequence bigint,
                terminal_id text,
                last_heartbeat timestamptz,
                heartbeat jsonb,
                connected boolean NOT NULL DEFAULT false,
                updated_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX accounts_connected ON accounts (last_heartbeat) WHERE connected;

            CREATE TABLE prices (
                symbol text PRIMARY KEY,
                close double precision NOT NULL,
                bar_time timestamptz NOT NULL);
            """),
        MessagingMigrations.Outbox(2),
        MessagingMigrations.HandledEvents(3),
    ];
}
