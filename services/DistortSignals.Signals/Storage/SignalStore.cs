using System.Runtime.CompilerServices;
using System.Text.Json;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform;
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
    /// Serialises the handling of one symbol's bars across replicas of the role until the transaction ends, so
    /// the stored bars and the engines that mirror them move in step; then stores <paramref name="bar"/> when it is
    /// newer than the latest stored bar of its symbol and timeframe, and returns that latest bar's open time as it
    /// was before (<see cref="DateTimeOffset.MinValue"/> when there was none). One round trip: the store and the
    /// read are a statement after the lock, so its snapshot holds what the previous holder committed.
    /// </summary>
    internal static async Task<DateTimeOffset> LockSymbolAndStoreBarAsync(NpgsqlTransaction transaction, Bar bar, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction, $"""
            SELECT pg_advisory_xact_lock(hashtextextended('signals:' || @symbol, 0));
            WITH latest AS (SELECT max(open_time) AS open_time FROM {Schema}.bars WHERE symbol = @symbol AND timeframe = @timeframe),
            stored AS (
                INSERT INTO {Schema}.bars (symbol, timeframe, open_time, open, high, low, close, volume, tick_count)
                SELECT @symbol, @timeframe, @time, @open, @high, @low, @close, @volume, @ticks FROM latest
                WHERE latest.open_time IS NULL OR latest.open_time < @time
                ON CONFLICT DO NOTHING)
            SELECT open_time FROM latest
            """);
        command.Parameters.AddWithValue("symbol", bar.Symbol);
        command.Parameters.AddWithValue("timeframe", bar.Timeframe.ToString());
        command.Parameters.AddWithValue("time", bar.OpenTime);
        command.Parameters.AddWithValue("open", bar.Open);
        command.Parameters.AddWithValue("high", bar.High);
        command.Parameters.AddWithValue("low", bar.Low);
        command.Parameters.AddWithValue("close", bar.Close);
        command.Parameters.AddWithValue("volume", bar.Volume);
        command.Parameters.AddWithValue("ticks", bar.TickCount);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.IsDBNull(0) ? DateTimeOffset.MinValue : new DateTimeOffset(reader.GetDateTime(0), TimeSpan.Zero);
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
