using DistortSignals.Core.Market;
using Npgsql;

namespace DistortSignals.Platform.Postgres;

/// <summary>
/// Bars given to one statement as arrays, one parameter per column: how the roles that keep bars (ingest, signals)
/// store many of them in one round trip.
/// </summary>
public static class BarColumns
{
    /// <summary>The rows of the bars, with the columns of a bars table in its order (symbol, timeframe, open_time, open, high, low, close, volume, tick_count).</summary>
    public const string Unnest = "unnest(@symbol, @timeframe, @time, @open, @high, @low, @close, @volume, @ticks)";

    /// <summary>Adds the parameters that <see cref="Unnest"/> reads.</summary>
    public static void AddTo(NpgsqlParameterCollection parameters, IReadOnlyCollection<Bar> bars)
    {
        parameters.AddWithValue("symbol", bars.Select(b => b.Symbol).ToArray());
        parameters.AddWithValue("timeframe", bars.Select(b => b.Timeframe.ToString()).ToArray());
        parameters.AddWithValue("time", bars.Select(b => b.OpenTime).ToArray());
        parameters.AddWithValue("open", bars.Select(b => b.Open).ToArray());
        parameters.AddWithValue("high", bars.Select(b => b.High).ToArray());
        parameters.AddWithValue("low", bars.Select(b => b.Low).ToArray());
        parameters.AddWithValue("close", bars.Select(b => b.Close).ToArray());
        parameters.AddWithValue("volume", bars.Select(b => b.Volume).ToArray());
        parameters.AddWithValue("ticks", bars.Select(b => b.TickCount).ToArray());
    }
}
