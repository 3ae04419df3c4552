using System.Runtime.CompilerServices;
using System.Text.Json;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform;
using DistortSignals.Platform.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace DistortSignals.Signals.Storage;

/// <summary>What <c>GET /api/v1/signals</c> asks for: each filter is optional, <see cref="To"/> is exclusive.</summary>
public sealed record SignalQuery(string? Strategy, string? Symbol, DateTimeOffset? From, DateTimeOffset? To, int Limit);

/// <summary>A strategy's activity: the time of its latest signal and how many signals it emitted since a given instant.</summary>
public sealed record StrategyActivity(DateTimeOffset? LastSignal, long SignalsToday);

/// <summary>
/// The SQL of the signals schema. Writes take the handler's transaction; the queries for the API use
/// their own connection.
/// </summary>
public sealed class SignalStore(NpgsqlDataSource database)
{
    public const string Schema = "signals";

    /// <summary>
    /// Serialises the handling of the bars' symbols across replicas of the role until the transaction ends, so the
    /// stored bars and the engines that mirror them move in step; then stores, in order, each of <paramref name="bars"/>
    /// that is newer than the latest stored bar of its symbol and timeframe, and returns for each, in the same order,
    /// that latest bar's open time as it was before it (<see cref="DateTimeOffset.MinValue"/> when there was none): the
    /// result of storing them one after another, in one round trip. The store and the read are a statement after the
    /// locks, so its snapshot holds what the previous holders committed; the locks are taken in one order, so that two
    /// runs of several symbols cannot deadlock.
    /// </summary>
    internal static async Task<DateTimeOffset[]> LockSymbolsAndStoreBarsAsync(NpgsqlTransaction transaction, IReadOnlyList<Bar> bars, CancellationToken cancellationToken)
    {
        // Before each bar: the latest of the stored bars and of the earlier bars of the list of its symbol and timeframe.
        await using var command = Command(transaction, $"""
            SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended('signals:' || s, 0) AS k FROM unnest(@symbol) AS s ORDER BY 1) AS locks;
            WITH given AS (
                SELECT * FROM {BarColumns.Unnest} WITH ORDINALITY
                    AS b(symbol, timeframe, open_time, open, high, low, close, volume, tick_count, n)),
            latest AS (
                SELECT k.symbol, k.timeframe, (SELECT max(open_time) FROM {Schema}.bars s WHERE s.symbol = k.symbol AND s.timeframe = k.timeframe) AS open_time
                FROM (SELECT DISTINCT symbol, timeframe FROM given) k),
            ordered AS (
                SELECT g.*, greatest(l.open_time, max(g.open_time) OVER (
                    PARTITION BY g.symbol, g.timeframe ORDER BY g.n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) AS before
                FROM given g JOIN latest l USING (symbol, timeframe)),
            stored AS (
                INSERT INTO {Schema}.bars (symbol, timeframe, open_time, open, high, low, close, volume, tick_count)
                SELECT symbol, timeframe, open_time, open, high, low, close, volume, tick_count FROM ordered
                WHERE before IS NULL OR before < open_time
                ON CONFLICT DO NOTHING)
            SELECT before FROM ordered ORDER BY n
            """);
        BarColumns.AddTo(command.Parameters, bars);
        var before = new DateTimeOffset[bars.Count];
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        for (var i = 0; await reader.ReadAsync(cancellationToken); i++)
        {
            before[i] = reader.IsDBNull(0) ? DateTimeOffset.MinValue : new DateTimeOffset(reader.GetDateTime(0), TimeSpan.Zero);
        }

        return before;
    }

    /// <summary>The stored bars of the symbol and timeframe that open after <paramref name="after"/> and not after <paramref name="until"/>, oldest first.</summary>
    internal static async IAsyncEnumerable<Bar> ReadBarsAsync(
        NpgsqlTransaction transaction, string symbol, Timeframe timeframe, DateTimeOffset after, DateTimeOffset until, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = Command(transaction,
            $"SELECT open_time, open, high, low, close, volume, tick_count FROM {Schema}.bars " +
            "WHERE symbol = @symbol AND timeframe = @timeframe AND open_time > @after AND open_time <= @until ORDER BY open_time");
        command.Parameters.AddWithValue("symbol", symbol);
        command.Parameters.AddWithValue("timeframe", timeframe.ToString());
        command.Parameters.AddWithValue("after", after);
        command.Parameters.AddWithValue("until", until);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new Bar(symbol, timeframe, reader.GetFieldValue<DateTimeOffset>(0), reader.GetDouble(1), reader.GetDouble(2),
                reader.GetDouble(3), reader.GetDouble(4), reader.GetDouble(5), reader.GetInt32(6));
        }
    }

    /// <summary>The statement that stores <paramref name="signal"/>, for the batch that publishes it; a stored id is kept as it was.</summary>
    internal static NpgsqlBatchCommand InsertSignal(Signal signal)
    {
        var command = new NpgsqlBatchCommand(
            $"INSERT INTO {Schema}.signals (id, strategy, symbol, timeframe, bar_time, time, direction, strength, payload) " +
            "VALUES (@id, @strategy, @symbol, @timeframe, @barTime, @time, @direction, @strength, @payload) ON CONFLICT DO NOTHING");
        command.Parameters.AddWithValue("id", signal.Id);
        command.Parameters.AddWithValue("strategy", signal.Strategy);
        command.Parameters.AddWithValue("symbol", signal.Symbol);
        command.Parameters.AddWithValue("timeframe", signal.Timeframe.ToString());
        command.Parameters.AddWithValue("barTime", signal.BarTime);
        command.Parameters.AddWithValue("time", signal.Time);
        command.Parameters.AddWithValue("direction", signal.Direction.ToString());
        command.Parameters.AddWithValue("strength", signal.Strength);
        command.Parameters.AddWithValue("payload", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(signal, PlatformJson.Options));
        return command;
    }

    /// <summary>The stored signals that match <paramref name="query"/>, newest first.</summary>
    public async Task<IReadOnlyList<Signal>> QueryAsync(SignalQuery query, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            $"SELECT payload::text FROM {Schema}.signals " +
            "WHERE (@strategy::text IS NULL OR strategy = @strategy) AND (@symbol::text IS NULL OR symbol = @symbol) " +
            "AND (@from::timestamptz IS NULL OR time >= @from) AND (@to::timestamptz IS NULL OR time < @to) " +
            "ORDER BY time DESC, id LIMIT @limit");
        command.Parameters.Add(Nullable("strategy", NpgsqlDbType.Text, query.Strategy));
        command.Parameters.Add(Nullable("symbol", NpgsqlDbType.Text, query.Symbol));
        command.Parameters.Add(Nullable("from", NpgsqlDbType.TimestampTz, query.From));
        command.Parameters.Add(Nullable("to", NpgsqlDbType.TimestampTz, query.To));
        command.Parameters.AddWithValue("limit", query.Limit);
        var signals = new List<Signal>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            signals.Add(JsonSerializer.Deserialize<Signal>(reader.GetString(0), PlatformJson.Options)
                ?? throw new InvalidDataException("a stored signal has an empty payload"));
        }

        return signals;
    }

    /// <summary>Per strategy that has signalled: its latest signal time and the number of signals timed at or after <paramref name="since"/>.</summary>
    public async Task<IReadOnlyDictionary<string, StrategyActivity>> ActivityAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            $"SELECT strategy, max(time), count(*) FILTER (WHERE time >= @since) FROM {Schema}.signals GROUP BY strategy");
        command.Parameters.AddWithValue("since", since);
        var activity = new Dictionary<string, StrategyActivity>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            activity[reader.GetString(0)] = new StrategyActivity(reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt64(2));
        }

        return activity;
    }

    private static NpgsqlCommand Command(NpgsqlTransaction transaction, string sql) => new(sql, transaction.Connection, transaction);

    private static NpgsqlParameter Nullable(string name, NpgsqlDbType type, object? value) => new(name, type) { Value = value ?? DBNull.Value };
}
