using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Postgres.Migrations;

namespace DistortSignals.Signals.Storage;

/// <summary>
/// The signals schema. Migrations are only ever added, never edited (their checksums are checked at start);
/// the runner sets the search path to the schema, so the SQL names tables without it.
/// </summary>
internal static class SignalsMigrations
{
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "bars the engines took and the signals they emitted", """
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

            CREATE TABLE signals (
                id text PRIMARY KEY,
                strategy text NOT NULL,
                symbol text NOT NULL,
                timeframe text NOT NULL,
                bar_time timestamptz NOT NULL,
                time timestamptz NOT NULL,
                direction text NOT NULL,
                strength double precision NOT NULL,
                payload jsonb NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now());
            CREATE INDEX signals_time ON signals (time DESC, id);
            CREATE INDEX signals_strategy_time ON signals (strategy, time DESC);
            CREATE INDEX signals_symbol_time ON signals (symbol, time DESC);
            """),
        MessagingMigrations.Outbox(2),
        MessagingMigrations.HandledEvents(3),
    ];
}
