using DistortSignals.Core.Market;
using DistortSignals.Core.Validation;

namespace DistortSignals.Ingest.Processing;

/// <summary>
/// The bar building of one symbol: ticks into M1 bars, and M1 bars into every higher timeframe. It is
/// stored as JSON after each change, in the transaction that stores the ticks, so a restart resumes it
/// exactly where the last committed batch left it.
/// </summary>
internal sealed class SymbolAggregators
{
    private static readonly Timeframe[] Higher = [Timeframe.M5, Timeframe.M15, Timeframe.M30, Timeframe.H1, Timeframe.H4, Timeframe.D1];

    private readonly TickAggregator _ticks;
    private readonly BarAggregator[] _bars;

    private SymbolAggregators(TickAggregator ticks, BarAggregator[] bars)
    {
        _ticks = ticks;
        _bars = bars;
    }

    public string Symbol => _ticks.Symbol;

    /// <summary>The earliest moment a watermark can close a forming bar; null when nothing is forming.</summary>
    public DateTimeOffset? FormingUntil =>
        _bars.Select(b => b.Forming?.CloseTime).Append(_ticks.Forming?.CloseTime).Where(t => t is not null).Min();

    public static SymbolAggregators Create(string symbol, TimeSpan allowedLateness) =>
        new(new TickAggregator(symbol, allowedLateness), [.. Higher.Select(tf => new BarAggregator(symbol, tf, allowedLateness))]);

    public static SymbolAggregators Restore(SymbolAggregatorsState state, TimeSpan allowedLateness) =>
        new(TickAggregator.Restore(state.Ticks, allowedLateness), [.. state.Bars.Select(b => BarAggregator.Restore(b, allowedLateness))]);

    public SymbolAggregatorsState Snapshot() => new(_ticks.Snapshot(), [.. _bars.Select(b => b.Snapshot())]);

    /// <summary>True when a tick at <paramref name="time"/> is later than every tick taken so far, so it cannot be a repeat.</summary>
    public bool IsAfterEveryTakenTick(DateTimeOffset time) => _ticks.IsAfterEveryTakenTick(time);

    /// <summary>Takes a tick; adds every bar it closes (M1 and higher) to <paramref name="closed"/>.</summary>
    public Refusal? Add(Tick tick, List<Bar> closed)
    {
        var result = _ticks.Add(tick);
        if (result.Closed is { } m1)
        {
            Close(m1, closed);
        }

        return result.Refusal;
    }

    /// <summary>Takes a finished M1 bar from outside (posted bars); it is refused when its higher bars are already final.</summary>
    public Refusal? AddM1(Bar m1, List<Bar> closed)
    {
        foreach (var aggregator in _bars)
        {
            if (aggregator.ClosedBefore is { } final && m1.OpenTime < final)
            {
                return new Refusal(RefusalReason.Late, [new("time", $"{ValidationRules.Format(m1.OpenTime)} falls in a {aggregator.Timeframe} bar that is already closed")]);
            }
        }

        Close(m1, closed);
        return null;
    }

    /// <summary>Closes what the watermark <paramref name="now"/> (minus the lateness) has passed.</summary>
    public void AdvanceWatermark(DateTimeOffset now, List<Bar> closed)
    {
        if (_ticks.AdvanceWatermark(now) is { } m1)
        {
            Close(m1, closed);
        }

        foreach (var aggregator in _bars)
        {
            if (aggregator.AdvanceWatermark(now) is { } bar)
            {
                closed.Add(bar);
            }
        }
    }

    private void Close(Bar m1, List<Bar> closed)
    {
        closed.Add(m1);
        foreach (var aggregator in _bars)
        {
            if (aggregator.Add(m1).Closed is { } bar)
            {
                closed.Add(bar);
            }
        }
    }
}

/// <summary>What <see cref="SymbolAggregators"/> stores.</summary>
internal sealed record SymbolAggregatorsState(TickAggregatorSnapshot Ticks, IReadOnlyList<BarAggregatorSnapshot> Bars);
