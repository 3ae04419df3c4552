using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using DistortSignals.Core.Market;
using DistortSignals.Core.Validation;
using DistortSignals.Platform;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace DistortSignals.Ingest.Processing;

/// <summary>
/// The one ingest path, for the HTTP API and the synthetic feed alike. A batch is one transaction: the
/// symbols it touches are locked (a transaction-scoped advisory lock, so replicas of the role serialise
/// per symbol too), their bar builders loaded, repeats detected against the stored ticks, the new ticks
/// and every bar they close stored, the <c>bar.closed</c> events written to the outbox, and the builders
/// saved. A crash at any point leaves either all of it or none.
/// </summary>
public sealed class MarketDataIngestor(NpgsqlDataSource database, IOutbox outbox, IngestOptions options, IngestMetrics metrics)
{
    public const string Schema = "ingest";

    public async Task<IngestResult> IngestTicksAsync(IReadOnlyList<(int Index, Tick Tick)> ticks, CancellationToken cancellationToken)
    {
        var refused = new List<RefusedItem>();
        var known = ticks.Where(t => KnownSymbol(t.Index, t.Tick.Symbol, refused)).ToList();
        var duplicates = new List<int>();
        var accepted = new List<(Tick Tick, Guid Id)>();
        var closed = new List<Bar>();
        if (known.Count > 0)
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var symbols = known.Select(t => t.Tick.Symbol).ToList();
            var builders = await LockAndLoadAsync(transaction, symbols, symbols, cancellationToken);
            var ids = known.Select(t => TickId(t.Tick)).ToArray();

            // A tick later than every tick its symbol has taken cannot be stored already (the builders are saved with
            // the ticks), so only the others are looked up: in a live stream, almost none.
            var maybeStored = known.Zip(ids).Where(x => !builders[x.First.Tick.Symbol].IsAfterEveryTakenTick(x.First.Tick.Time)).ToList();
            var stored = await ExistingTickIdsAsync(transaction, [.. maybeStored.Select(x => x.First.Tick)], [.. maybeStored.Select(x => x.Second)], cancellationToken);

            // In time order per symbol, so that a batch's own order cannot make its later ticks late.
            foreach (var (item, id) in known.Zip(ids).OrderBy(x => x.First.Tick.Time).ThenBy(x => x.First.Index))
            {
                if (!stored.Add(id))
                {
                    duplicates.Add(item.Index);
                    continue;
                }

                if (builders[item.Tick.Symbol].Add(item.Tick, closed) is { } refusal)
                {
                    stored.Remove(id);
                    refused.Add(new RefusedItem(item.Index, refusal.Errors));
                    metrics.TicksRefused.Add(1, new KeyValuePair<string, object?>("reason", refusal.Reason.ToString()));
                    continue;
                }

                accepted.Add((item.Tick, id));
            }

            await InsertTicksAsync(transaction, accepted, cancellationToken);
            await SaveAsync(transaction, closed, builders.Values, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        metrics.TicksAccepted.Add(accepted.Count);
        metrics.TicksDuplicate.Add(duplicates.Count);
        metrics.BarsClosed.Add(closed.Count);
        return new IngestResult(accepted.Count, duplicates.Order().ToList(), [.. refused.OrderBy(r => r.Index)], closed.Count);
    }

    /// <summary>
    /// Stores finished bars. M1 bars also build the higher timeframes; bars of other timeframes are taken
    /// as they are. A bar that is already stored with the same values is a repeat; with other values it is
    /// refused, because a published bar never changes.
    /// </summary>
    public async Task<IngestResult> IngestBarsAsync(IReadOnlyList<(int Index, Bar Bar)> bars, CancellationToken cancellationToken)
    {
        var refused = new List<RefusedItem>();
        var known = bars.Where(b => KnownSymbol(b.Index, b.Bar.Symbol, refused)).ToList();
        var duplicates = new List<int>();
        var closed = new List<Bar>();
        var accepted = 0;
        if (known.Count > 0)
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var builders = await LockAndLoadAsync(
                transaction, known.Select(b => b.Bar.Symbol), known.Where(b => b.Bar.Timeframe == Timeframe.M1).Select(b => b.Bar.Symbol), cancellationToken);
            var stored = await StoredBarsAsync(transaction, known.Select(b => b.Bar).ToList(), cancellationToken);
            foreach (var (index, bar) in known.OrderBy(b => b.Bar.OpenTime).ThenBy(b => b.Index))
            {
                var key = (bar.Symbol, bar.Timeframe, bar.OpenTime);
                if (stored.TryGetValue(key, out var existing))
                {
                    if (existing == bar with { TickCount = existing.TickCount })
                    {
                        duplicates.Add(index);
                    }
                    else
                    {
                        refused.Add(new RefusedItem(index, [new("time", $"a different {bar.Timeframe} bar of {bar.Symbol} at {ValidationRules.Format(bar.OpenTime)} is already stored")]));
                    }

                    continue;
                }

                var refusal = bar.Timeframe == Timeframe.M1 ? builders[bar.Symbol].AddM1(bar, closed) : null;
                if (refusal is not null)
                {
                    refused.Add(new RefusedItem(index, refusal.Errors));
                    continue;
                }

                if (bar.Timeframe != Timeframe.M1)
                {
                    closed.Add(bar);
                }

                stored[key] = bar;
                accepted++;
            }

            await SaveAsync(transaction, closed, builders.Values, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        metrics.BarsClosed.Add(closed.Count);
        return new IngestResult(accepted, duplicates.Order().ToList(), [.. refused.OrderBy(r => r.Index)], closed.Count);
    }

    /// <summary>
    /// Closes the bars whose end the watermark (now minus the allowed lateness) has passed, for symbols whose
    /// forming bars are live (see <see cref="IngestOptions.WatermarkHorizon"/>); returns how many.
    /// </summary>
    public async Task<int> AdvanceWatermarkAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var due = new List<string>();
        await using (var command = database.CreateCommand($"SELECT symbol FROM {Schema}.bar_builders WHERE forming_until <= @due AND forming_until >= @horizon"))
        {
            command.Parameters.AddWithValue("due", now - options.AllowedLateness);
            command.Parameters.AddWithValue("horizon", now - options.WatermarkHorizon);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                due.Add(reader.GetString(0));
            }
        }

        if (due.Count == 0)
        {
            return 0;
        }

        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var builders = await LockAndLoadAsync(transaction, due, due, cancellationToken);
        var closed = new List<Bar>();
        foreach (var builder in builders.Values)
        {
            builder.AdvanceWatermark(now, closed);
        }

        await SaveAsync(transaction, closed, builders.Values, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        metrics.BarsClosed.Add(closed.Count);
        return closed.Count;
    }

    public async Task<IReadOnlyList<Bar>> ReadBarsAsync(string symbol, Timeframe timeframe, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            $"SELECT open_time, open, high, low, close, volume, tick_count FROM {Schema}.bars " +
            "WHERE symbol = @symbol AND timeframe = @timeframe AND open_time >= @from AND open_time < @to ORDER BY open_time LIMIT @limit");
        command.Parameters.AddWithValue("symbol", symbol);
        command.Parameters.AddWithValue("timeframe", timeframe.ToString());
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("to", to);
        command.Parameters.AddWithValue("limit", limit);
        var bars = new List<Bar>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            bars.Add(new Bar(symbol, timeframe, reader.GetFieldValue<DateTimeOffset>(0), reader.GetDouble(1), reader.GetDouble(2),
                reader.GetDouble(3), reader.GetDouble(4), reader.GetDouble(5), reader.GetInt32(6)));
        }

        return bars;
    }

    /// <summary>A tick's identity is its content (16 bytes of its SHA-256), so a repeated delivery is recognised and stored once.</summary>
    internal static Guid TickId(Tick tick)
    {
        // The key's UTF-8 bytes go straight into a buffer (a string per tick cost more than the hash); a source
        // too long for it takes a larger one.
        Span<byte> key = stackalloc byte[256];
        byte[]? rented = null;
        int length;
        while (!Utf8.TryWrite(key, System.Globalization.CultureInfo.InvariantCulture,
                   $"{tick.Symbol}|{tick.Time.UtcTicks}|{tick.Bid:R}|{tick.Ask:R}|{tick.Last:R}|{tick.Volume:R}|{tick.Source}", out length))
        {
            var larger = ArrayPool<byte>.Shared.Rent(key.Length * 2);
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }

            rented = larger;
            key = larger;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(key[..length], hash);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return new Guid(hash[..16]);
    }

    internal static string BarEventId(Bar bar) => $"bar-{bar.Symbol}-{bar.Timeframe}-{bar.OpenTime.UtcDateTime:yyyyMMddTHHmm}";

    private bool KnownSymbol(int index, string symbol, List<RefusedItem> refused)
    {
        if (options.Symbols.Count == 0 || options.Symbols.Contains(symbol))
        {
            return true;
        }

        refused.Add(new RefusedItem(index, [new("symbol", $"'{symbol}' is not traded here (known: {string.Join(", ", options.Symbols)})")]));
        metrics.TicksRefused.Add(1, new KeyValuePair<string, object?>("reason", "UnknownSymbol"));
        return false;
    }

    /// <summary>
    /// Takes the locks of <paramref name="locked"/> in one fixed order, so two batches cannot deadlock, and loads the
    /// bar builders of <paramref name="loaded"/>, in one round trip: the load is a statement after the locks, so it
    /// reads what the previous holder committed.
    /// </summary>
    private async Task<Dictionary<string, SymbolAggregators>> LockAndLoadAsync(
        NpgsqlTransaction transaction, IEnumerable<string> locked, IEnumerable<string> loaded, CancellationToken cancellationToken)
    {
        var wanted = loaded.Distinct().ToArray();
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(
                    "SELECT pg_advisory_xact_lock(k) FROM (SELECT hashtextextended('ingest:' || s, 0) AS k FROM unnest(@symbols) AS s ORDER BY 1) AS locks"),
                new NpgsqlBatchCommand($"SELECT symbol, state FROM {Schema}.bar_builders WHERE symbol = ANY(@symbols)"),
            },
        };
        batch.BatchCommands[0].Parameters.AddWithValue("symbols", locked.Distinct().ToArray());
        batch.BatchCommands[1].Parameters.AddWithValue("symbols", wanted);
        var builders = new Dictionary<string, SymbolAggregators>(StringComparer.Ordinal);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var state = JsonSerializer.Deserialize<SymbolAggregatorsState>(reader.GetString(1), PlatformJson.Options)
                    ?? throw new InvalidDataException($"the stored bar builder of {reader.GetString(0)} is empty");
                builders[reader.GetString(0)] = SymbolAggregators.Restore(state, options.AllowedLateness);
            }
        }

        foreach (var symbol in wanted.Where(s => !builders.ContainsKey(s)))
        {
            builders[symbol] = SymbolAggregators.Create(symbol, options.AllowedLateness);
        }

        return builders;
    }

    /// <summary>
    /// Stores the closed bars with their <c>bar.closed</c> events and saves the builders, in one round trip.
    /// </summary>
    private async Task SaveAsync(NpgsqlTransaction transaction, List<Bar> closed, IEnumerable<SymbolAggregators> builders, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction);
        if (closed.Count > 0)
        {
            var store = new NpgsqlBatchCommand(
                $"INSERT INTO {Schema}.bars (symbol, timeframe, open_time, open, high, low, close, volume, tick_count) " +
                $"SELECT * FROM {BarColumns.Unnest} ON CONFLICT DO NOTHING");
            BarColumns.AddTo(store.Parameters, closed);
            batch.BatchCommands.Add(store);
            outbox.AddTo(batch, Schema, Topics.Bars, [.. closed.Select(bar => CloudEvent.Create(BarEventId(bar), "ingest", Topics.Events.BarClosed, bar.Symbol, bar.CloseTime, bar))]);
            Activity.Current?.AddTag("bars.closed", closed.Count);
        }

        var list = builders.ToList();
        if (list.Count > 0)
        {
            var save = new NpgsqlBatchCommand(
                $"INSERT INTO {Schema}.bar_builders (symbol, state, forming_until) SELECT * FROM unnest(@symbols, @states::jsonb[], @until) " +
                "ON CONFLICT (symbol) DO UPDATE SET state = excluded.state, forming_until = excluded.forming_until");
            save.Parameters.AddWithValue("symbols", list.Select(b => b.Symbol).ToArray());
            save.Parameters.AddWithValue("states", list.Select(b => JsonSerializer.Serialize(b.Snapshot(), PlatformJson.Options)).ToArray());
            save.Parameters.Add(new NpgsqlParameter("until", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = list.Select(b => (object?)b.FormingUntil ?? DBNull.Value).ToArray() });
            batch.BatchCommands.Add(save);
        }

        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static async Task<HashSet<Guid>> ExistingTickIdsAsync(NpgsqlTransaction transaction, List<Tick> ticks, Guid[] ids, CancellationToken cancellationToken)
    {
        var existing = new HashSet<Guid>();
        if (ticks.Count == 0)
        {
            return existing;
        }

        // A join from the keys keeps this an index lookup per tick however large the table grows.
        await using var command = new NpgsqlCommand(
            $"SELECT t.id FROM unnest(@symbols, @times, @ids) AS k(symbol, time, id) JOIN {Schema}.ticks t USING (symbol, time, id)",
            transaction.Connection,
            transaction);
        command.Parameters.AddWithValue("symbols", ticks.Select(t => t.Symbol).ToArray());
        command.Parameters.AddWithValue("times", ticks.Select(t => t.Time).ToArray());
        command.Parameters.AddWithValue("ids", ids);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            existing.Add(reader.GetGuid(0));
        }

        return existing;
    }

    /// <summary>Binary COPY: the fastest way in, and safe without ON CONFLICT because repeats were removed under the symbols' locks.</summary>
    private static async Task InsertTicksAsync(NpgsqlTransaction transaction, List<(Tick Tick, Guid Id)> ticks, CancellationToken cancellationToken)
    {
        if (ticks.Count == 0)
        {
            return;
        }

        await using var importer = await transaction.Connection!.BeginBinaryImportAsync(
            $"COPY {Schema}.ticks (id, symbol, time, bid, ask, last, volume, source) FROM STDIN (FORMAT BINARY)", cancellationToken);
        // The synchronous writes only fill Npgsql's buffer (an await per field costs more than the field).
        foreach (var (tick, id) in ticks)
        {
            importer.StartRow();
            importer.Write(id, NpgsqlDbType.Uuid);
            importer.Write(tick.Symbol, NpgsqlDbType.Text);
            importer.Write(tick.Time, NpgsqlDbType.TimestampTz);
            WriteNullable(tick.Bid);
            WriteNullable(tick.Ask);
            WriteNullable(tick.Last);
            importer.Write(tick.Volume, NpgsqlDbType.Double);
            importer.Write(tick.Source, NpgsqlDbType.Text);
        }

        await importer.CompleteAsync(cancellationToken);

        void WriteNullable(double? value)
        {
            if (value is { } number)
            {
                importer.Write(number, NpgsqlDbType.Double);
            }
            else
            {
                importer.WriteNull();
            }
        }
    }

    private static async Task<Dictionary<(string, Timeframe, DateTimeOffset), Bar>> StoredBarsAsync(NpgsqlTransaction transaction, List<Bar> bars, CancellationToken cancellationToken)
    {
        var stored = new Dictionary<(string, Timeframe, DateTimeOffset), Bar>();
        await using var command = new NpgsqlCommand(
            $"SELECT b.symbol, b.timeframe, b.open_time, b.open, b.high, b.low, b.close, b.volume, b.tick_count FROM {Schema}.bars b " +
            "JOIN unnest(@symbol, @timeframe, @time) AS k(symbol, timeframe, open_time) USING (symbol, timeframe, open_time)",
            transaction.Connection,
            transaction);
        command.Parameters.AddWithValue("symbol", bars.Select(b => b.Symbol).ToArray());
        command.Parameters.AddWithValue("timeframe", bars.Select(b => b.Timeframe.ToString()).ToArray());
        command.Parameters.AddWithValue("time", bars.Select(b => b.OpenTime).ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var timeframe = Enum.Parse<Timeframe>(reader.GetString(1));
            var bar = new Bar(reader.GetString(0), timeframe, reader.GetFieldValue<DateTimeOffset>(2), reader.GetDouble(3), reader.GetDouble(4),
                reader.GetDouble(5), reader.GetDouble(6), reader.GetDouble(7), reader.GetInt32(8));
            stored[(bar.Symbol, timeframe, bar.OpenTime)] = bar;
        }

        return stored;
    }
}
