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

        // Builders stored before runs listed every folded minute; each becomes a run of one, and the next save
        // of the builder writes the compact form.
        new(3, "bar builders keep folded minutes as runs", """
            UPDATE bar_builders
            SET state = jsonb_set(state, '{bars}', (
                SELECT coalesce(jsonb_agg(
                    (bar - 'foldedMinutes') || jsonb_build_object('foldedRuns', coalesce(
                        (SELECT jsonb_agg(jsonb_build_object('start', minute, 'count', 1) ORDER BY n)
                         FROM jsonb_array_elements(bar -> 'foldedMinutes') WITH ORDINALITY AS m(minute, n)),
                        '[]'::jsonb))
                    ORDER BY i), '[]'::jsonb)
                FROM jsonb_array_elements(state -> 'bars') WITH ORDINALITY AS b(bar, i)))
            WHERE state -> 'bars' IS NOT NULL;
            """),

        // A random uuid key put every insert on a random index page; keyed by (symbol, time, id) the inserts land
        // at the end of each symbol's range, and one index serves both the repeat check and the range reads.
        new(4, "ticks keyed by symbol and time", """
            ALTER TABLE ticks DROP CONSTRAINT ticks_pkey;
            ALTER TABLE ticks ADD PRIMARY KEY (symbol, time, id);
            DROP INDEX ticks_symbol_time;
            """),
    ];
}
