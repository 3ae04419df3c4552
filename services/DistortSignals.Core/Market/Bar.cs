using DistortSignals.Core.Indicators;

namespace DistortSignals.Core.Market;

/// <summary>
/// A closed (or forming) bar of one symbol and timeframe. <see cref="OpenTime"/> is the UTC start of the
/// bar and is aligned to the timeframe.
/// </summary>
public sealed record Bar(
    string Symbol,
    Timeframe Timeframe,
    DateTimeOffset OpenTime,
    double Open,
    double High,
    double Low,
    double Close,
    double Volume,
    int TickCount = 0)
{
    /// <summary>The first instant after the bar.</summary>
    public DateTimeOffset CloseTime => OpenTime + Timeframe.Duration();

    public Ohlcv ToOhlcv() => new(Open, High, Low, Close, Volume);
}
