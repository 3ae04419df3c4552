using DistortSignals.Core.Market;

namespace DistortSignals.Testing;

/// <summary>Builds bar series whose shape is known by construction: each bar opens at the previous close.</summary>
public sealed class SeriesBuilder(string symbol = "TEST", Timeframe timeframe = Timeframe.H1, DateTimeOffset? start = null)
{
    private readonly List<Bar> _bars = [];
    private DateTimeOffset _time = start ?? new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);
    private double _last = 100;

    public IReadOnlyList<Bar> Bars => _bars;

    /// <summary>A bar closing at <paramref name="close"/>, with a wick of <paramref name="wick"/> beyond open and close.</summary>
    public SeriesBuilder Close(double close, double volume = 1000, double wick = 0.02)
    {
        _bars.Add(new Bar(symbol, timeframe, _time, _last, Math.Max(_last, close) + wick, Math.Min(_last, close) - wick, close, volume));
        _last = close;
        _time += timeframe.Duration();
        return this;
    }

    /// <summary>A zigzag between the last close and the last close plus <paramref name="step"/>: a range with no trend.</summary>
    public SeriesBuilder Range(int count, double step = 0.1, double volume = 1000)
    {
        var low = _last;
        for (var i = 0; i < count; i++)
        {
            Close(i % 2 == 0 ? low + step : low, volume);
        }

        return this;
    }

    /// <summary>A steady trend of <paramref name="count"/> bars moving by <paramref name="step"/>, with a small pullback every fourth bar.</summary>
    public SeriesBuilder Trend(int count, double step)
    {
        for (var i = 0; i < count; i++)
        {
            Close(_last + (i % 4 == 3 ? -step / 2 : step));
        }

        return this;
    }
}
