using DistortSignals.Core.Validation;

namespace DistortSignals.Core.Market;

/// <summary>
/// Folds the M1 bars of one symbol into one higher timeframe (M5..D1), aligned to UTC boundaries.
/// One instance per symbol and timeframe.
/// </summary>
/// <remarks>
/// Open is the earliest M1 bar's open, close the latest one's close (by bar time, not arrival), high the
/// maximum, low the minimum; volume and tick count add up. The forming bar closes when an M1 bar of a
/// later period arrives, or when <see cref="AdvanceWatermark"/> is called with now - allowed lateness at
/// or past its end; feed the M1 bars a watermark closed before advancing this one. Periods before
/// <see cref="ClosedBefore"/> are final: an M1 bar for one is refused as late and counted. Delivery is at
/// least once, so an M1 bar whose minute is already in the forming bar is refused as a duplicate (the
/// first delivery wins); once its period is closed a repeat cannot be told from a late bar and is
/// refused as late.
/// </remarks>
public sealed class BarAggregator
{
    private readonly FormingSeries _series;

    // Which minutes of the forming bar are folded in, indexed by minutes since its open.
    private readonly bool[] _folded;

    /// <param name="allowedLateness">How long after a period ends its M1 bars are still taken; 2 s when null.</param>
    public BarAggregator(string symbol, Timeframe timeframe, TimeSpan? allowedLateness = null)
    {
        if (timeframe == Timeframe.M1)
        {
            throw new ArgumentOutOfRangeException(nameof(timeframe), timeframe, "the target timeframe must be higher than M1");
        }

        _series = new FormingSeries(symbol, timeframe, allowedLateness);
        _folded = new bool[(int)(timeframe.Duration() / Timeframe.M1.Duration())];
    }

    public string Symbol => _series.Symbol;

    public Timeframe Timeframe => _series.Timeframe;

    public TimeSpan AllowedLateness => _series.AllowedLateness;

    /// <summary>M1 bars refused because their period was already final.</summary>
    public long LateBars { get; private set; }

    /// <summary>M1 bars refused because their minute was already folded into the forming bar.</summary>
    public long DuplicateBars { get; private set; }

    /// <summary>The bar still taking M1 bars, or null.</summary>
    public Bar? Forming => _series.Forming;

    /// <summary>Periods that start before this instant are final; null until the first bar or watermark.</summary>
    public DateTimeOffset? ClosedBefore => _series.ClosedBefore;

    public AggregationResult Add(Bar m1)
    {
        var errors = MarketValidation.Validate(m1);
        if (errors.Count > 0)
        {
            return AggregationResult.Refuse(RefusalReason.Invalid, errors);
        }

        if (m1.Symbol != Symbol)
        {
            return AggregationResult.Refuse(RefusalReason.WrongSeries, [new ValidationError("symbol", $"{m1.Symbol} is not this aggregator's symbol {Symbol}")]);
        }

        if (m1.Timeframe != Timeframe.M1)
        {
            return AggregationResult.Refuse(RefusalReason.WrongSeries, [new ValidationError("timeframe", $"{m1.Timeframe} is not M1; only M1 bars are folded")]);
        }

        if (_series.IsLate(m1.OpenTime))
        {
            LateBars++;
            return AggregationResult.Refuse(RefusalReason.Late, [_series.LateError(m1.OpenTime)]);
        }

        if (!_series.IsInForming(m1.OpenTime))
        {
            Array.Clear(_folded);
        }

        var minute = MinuteIndex(m1.OpenTime);
        if (_folded[minute])
        {
            DuplicateBars++;
            return AggregationResult.Refuse(
                RefusalReason.Duplicate,
                [new ValidationError("time", $"{ValidationRules.Format(m1.OpenTime)} is already folded into the forming {Timeframe} bar {ValidationRules.Format(Timeframe.Floor(m1.OpenTime))}")]);
        }

        _folded[minute] = true;
        return new AggregationResult(null, _series.Add(m1.OpenTime, m1.Open, m1.High, m1.Low, m1.Close, m1.Volume, m1.TickCount));
    }

    /// <summary>Closes the forming bar once <paramref name="now"/> - allowed lateness reaches its end; returns it or null.</summary>
    public Bar? AdvanceWatermark(DateTimeOffset now) => _series.AdvanceWatermark(now);

    /// <summary>Everything needed to carry on after a restart.</summary>
    public BarAggregatorSnapshot Snapshot()
    {
        var forming = Forming;
        var runs = new List<MinuteRun>();
        if (forming is not null)
        {
            for (var i = 0; i < _folded.Length; i++)
            {
                if (!_folded[i])
                {
                    continue;
                }

                var start = i;
                while (i + 1 < _folded.Length && _folded[i + 1])
                {
                    i++;
                }

                runs.Add(new MinuteRun(forming.OpenTime + (Timeframe.M1.Duration() * start), i - start + 1));
            }
        }

        return new BarAggregatorSnapshot(Symbol, Timeframe, ClosedBefore, forming, runs, LateBars, DuplicateBars);
    }

    public static BarAggregator Restore(BarAggregatorSnapshot snapshot, TimeSpan? allowedLateness = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var aggregator = new BarAggregator(snapshot.Symbol, snapshot.Timeframe, allowedLateness)
        {
            LateBars = snapshot.LateBars,
            DuplicateBars = snapshot.DuplicateBars,
        };

        if (snapshot.FoldedRuns.FirstOrDefault(run => run.Count < 1) is { } empty)
        {
            throw new ArgumentException($"snapshot: the run of folded minutes at {ValidationRules.Format(empty.Start)} has {empty.Count} minutes", nameof(snapshot));
        }

        if ((snapshot.Forming is null) != (snapshot.FoldedRuns.Count == 0))
        {
            throw new ArgumentException("snapshot: folded minutes are present exactly when a bar is forming", nameof(snapshot));
        }

        // The earliest and latest folded minutes are the bars that set open and close. A run is checked by its ends
        // (the forming bar is one range of minutes), not minute by minute: a D1 bar late in the day folds 1,440.
        var runs = snapshot.FoldedRuns.Select(run => (First: run.Start, Last: run.Start + (Timeframe.M1.Duration() * (run.Count - 1)), run.Count)).ToList();
        aggregator._series.Restore(snapshot.ClosedBefore, snapshot.Forming, runs.Count == 0 ? default : runs.Min(r => r.First), runs.Count == 0 ? default : runs.Max(r => r.Last));
        foreach (var (first, last, count) in runs)
        {
            foreach (var end in new[] { first, last })
            {
                if (!Timeframe.M1.IsAligned(end) || !aggregator._series.IsInForming(end))
                {
                    throw new ArgumentException($"snapshot: folded minute {ValidationRules.Format(end)} is not an M1 open time inside the forming bar", nameof(snapshot));
                }
            }

            aggregator._folded.AsSpan(aggregator.MinuteIndex(first), count).Fill(true);
        }

        return aggregator;
    }

    private int MinuteIndex(DateTimeOffset m1OpenTime) => (int)((m1OpenTime - Timeframe.Floor(m1OpenTime)) / Timeframe.M1.Duration());
}

/// <summary>
/// The state of a <see cref="BarAggregator"/>: the forming bar and the open times of the M1 bars folded
/// into it, which restore both duplicate detection and which bars set its open and close. The minutes are
/// kept as runs of consecutive minutes: M1 bars mostly arrive in order, so a D1 bar's 1,440 minutes are
/// usually one run, and the state stays small however far the day has gone.
/// </summary>
public sealed record BarAggregatorSnapshot(
    string Symbol,
    Timeframe Timeframe,
    DateTimeOffset? ClosedBefore,
    Bar? Forming,
    IReadOnlyList<MinuteRun> FoldedRuns,
    long LateBars,
    long DuplicateBars)
{
    /// <summary>Every folded minute, run by run.</summary>
    public IEnumerable<DateTimeOffset> FoldedMinutes() =>
        FoldedRuns.SelectMany(run => Enumerable.Range(0, run.Count).Select(i => run.Start + (Timeframe.M1.Duration() * i)));
}

/// <summary><see cref="Count"/> consecutive M1 open times from <see cref="Start"/>.</summary>
public sealed record MinuteRun(DateTimeOffset Start, int Count);
