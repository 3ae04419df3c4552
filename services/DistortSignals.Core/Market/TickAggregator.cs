using DistortSignals.Core.Validation;

namespace DistortSignals.Core.Market;

/// <summary>
/// Builds the M1 bars of one symbol from its ticks. One instance per symbol: its whole state is one
/// forming bar, so a caller serving many symbols keeps a dictionary of aggregators keyed by symbol.
/// </summary>
/// <remarks>
/// A tick's price is <see cref="Tick.Last"/> when present, else <see cref="Tick.Bid"/> (MT5 charts are
/// bid-based); volumes add up and every tick counts once. The forming bar closes when a tick for a later
/// minute arrives, or when <see cref="AdvanceWatermark"/> is called with now - allowed lateness at or past
/// its end. Minutes before <see cref="ClosedBefore"/> are final: a tick for one is refused as late and
/// counted in <see cref="LateTicks"/>. Minutes without ticks make no bar. Nothing reads a clock, so the
/// same calls give the same bars.
/// </remarks>
public sealed class TickAggregator
{
    private readonly FormingSeries _series;

    /// <param name="allowedLateness">How long after a minute ends its ticks are still taken; 2 s when null.</param>
    public TickAggregator(string symbol, TimeSpan? allowedLateness = null)
    {
        _series = new FormingSeries(symbol, Timeframe.M1, allowedLateness);
    }

    public string Symbol => _series.Symbol;

    public TimeSpan AllowedLateness => _series.AllowedLateness;

    /// <summary>Ticks refused because their minute was already final.</summary>
    public long LateTicks { get; private set; }

    /// <summary>The bar still taking ticks, or null.</summary>
    public Bar? Forming => _series.Forming;

    /// <summary>Minutes that start before this instant are final; null until the first tick or watermark.</summary>
    public DateTimeOffset? ClosedBefore => _series.ClosedBefore;

    /// <summary>
    /// True when a tick at <paramref name="time"/> is later than every tick this aggregator has taken, so it
    /// cannot be a repeat of one; a store of the taken ticks need only be searched for the others.
    /// </summary>
    public bool IsAfterEveryTakenTick(DateTimeOffset time) => _series.IsAfterEveryInput(time);

    public AggregationResult Add(Tick tick)
    {
        var errors = MarketValidation.Validate(tick);
        if (errors.Count > 0)
        {
            return AggregationResult.Refuse(RefusalReason.Invalid, errors);
        }

        if (tick.Symbol != Symbol)
        {
            return AggregationResult.Refuse(RefusalReason.WrongSeries, [new ValidationError("symbol", $"{tick.Symbol} is not this aggregator's symbol {Symbol}")]);
        }

        if (_series.IsLate(tick.Time))
        {
            LateTicks++;
            return AggregationResult.Refuse(RefusalReason.Late, [_series.LateError(tick.Time)]);
        }

        // Validation guarantees bid is present whenever last is absent.
        var price = tick.Last ?? tick.Bid!.Value;
        return new AggregationResult(null, _series.Add(tick.Time, price, price, price, price, tick.Volume, 1));
    }

    /// <summary>Closes the forming bar once <paramref name="now"/> - allowed lateness reaches its end; returns it or null.</summary>
    public Bar? AdvanceWatermark(DateTimeOffset now) => _series.AdvanceWatermark(now);

    /// <summary>Everything needed to carry on after a restart.</summary>
    public TickAggregatorSnapshot Snapshot()
    {
        var forming = Forming;
        return forming is null
            ? new TickAggregatorSnapshot(Symbol, ClosedBefore, null, null, null, LateTicks)
            : new TickAggregatorSnapshot(Symbol, ClosedBefore, forming, _series.FirstTime, _series.LastTime, LateTicks);
    }

    public static TickAggregator Restore(TickAggregatorSnapshot snapshot, TimeSpan? allowedLateness = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if ((snapshot.Forming is null) != (snapshot.FirstTickTime is null) || (snapshot.Forming is null) != (snapshot.LastTickTime is null))
        {
            throw new ArgumentException("snapshot: first and last tick times are present exactly when a bar is forming", nameof(snapshot));
        }

        var aggregator = new TickAggregator(snapshot.Symbol, allowedLateness) { LateTicks = snapshot.LateTicks };
        aggregator._series.Restore(snapshot.ClosedBefore, snapshot.Forming, snapshot.FirstTickTime.GetValueOrDefault(), snapshot.LastTickTime.GetValueOrDefault());
        return aggregator;
    }
}

/// <summary>
/// The state of a <see cref="TickAggregator"/>. <see cref="FirstTickTime"/> and <see cref="LastTickTime"/>
/// are the times of the ticks that set the forming bar's open and close, so that an out-of-order tick
/// after a restart is placed as it would have been without one.
/// </summary>
public sealed record TickAggregatorSnapshot(
    string Symbol,
    DateTimeOffset? ClosedBefore,
    Bar? Forming,
    DateTimeOffset? FirstTickTime,
    DateTimeOffset? LastTickTime,
    long LateTicks);
