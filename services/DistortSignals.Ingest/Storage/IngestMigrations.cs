using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Postgres.Migrations;

namespace DistortSignals.Ingest.Storage;

/// <summary>
/// The ingest schema. Migrations are only ever added, never edited (their checksums are checked at start);
/// the runner sets the search path to the schema, so the SQL names tables without it.
/// </summary>
public static class IngestMigrations
{
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "ticks, bars and bar builders", """
            CREATE TABLE ticks (
                id uuid PRIMARY KEY,
                symbol text NOT NULL,
                time timestamptz NOT NULL,
                bid double precision,
                ask double precision,
                last double precision,
                volume double precision NOT NULL,
                source text NOT NULL,
                received_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX ticks_symbol_time ON ticks (symbol, time);

            CREATE TABLE bars (
                symbol text NOT NULL,
                timeframe text NOT NULL,
                open_time timestamptz NOT NULL,
                open double precision NOT NULL,
                high double precision NOT NULL,
                low double precision NOT NULL,
                close double precision NOT NULL,
                volume double precision NOT NULL,
                tick_count integer NOT NULL,
                stored_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (symbol, timeframe, open_time));

            CREATE TABLE bar_builders (
                symbol text PRIMARY KEY,
                state jsonb NOT NULL,
                forming_until timestamptz);
            CREATE INDEX bar_builders_forming_until ON bar_builders (forming_until) WHERE forming_until IS NOT NULL;

            CREATE TABLE feed_origin (
                id integer PRIMARY KEY CHECK (id = 1),
                origin timestamptz NOT NULL,
                seed bigint NOT NULL);
            """),
        MessagingMigrations.Outbox(2),
    ];
}
