using DistortSignals.Core.Market;

namespace DistortSignals.EndToEnd.Tests;

/// <summary>
/// The bars the platform should have stored, worked out by hand from the acknowledged ticks rather than with
/// the platform's aggregators, so a fault in them or in their restore after a crash shows up as a difference.
/// </summary>
internal static class ExpectedBars
{
    public static readonly Timeframe[] HigherTimeframes = [Timeframe.M5, Timeframe.M15, Timeframe.M30, Timeframe.H1, Timeframe.H4, Timeframe.D1];

    /// <summary>
    /// One M1 bar per minute with ticks, built from the bid: open the first, close the last, volumes added.
    /// The last minute is left out: it is still forming, as only a tick of a later minute closes it.
    /// </summary>
    public static IReadOnlyList<Bar> M1(IEnumerable<Tick> ticks) =>
        [.. ticks.OrderBy(t => t.Time)
            .GroupBy(t => Timeframe.M1.Floor(t.Time))
            .SkipLast(1)
            .Select(minute => Fold(Timeframe.M1, minute.Key, [.. minute.Select(t => new Bar(t.Symbol, Timeframe.M1, minute.Key, t.Bid!.Value, t.Bid.Value, t.Bid.Value, t.Bid.Value, t.Volume, 1))]))];

    /// <summary>The bars of <paramref name="timeframe"/> folded from M1 bars; the last period is still forming, as only a later M1 bar closes it.</summary>
    public static IReadOnlyList<Bar> Higher(IEnumerable<Bar> m1, Timeframe timeframe) =>
        [.. m1.OrderBy(b => b.OpenTime)
            .GroupBy(b => timeframe.Floor(b.OpenTime))
            .SkipLast(1)
            .Select(period => Fold(timeframe, period.Key, [.. period]))];

    private static Bar Fold(Timeframe timeframe, DateTimeOffset openTime, List<Bar> parts) => new(
        parts[0].Symbol,
        timeframe,
        openTime,
        parts[0].Open,
        parts.Max(p => p.High),
        parts.Min(p => p.Low),
        parts[^1].Close,
        parts.Aggregate(0.0, (sum, p) => sum + p.Volume),
        parts.Sum(p => p.TickCount));
}
