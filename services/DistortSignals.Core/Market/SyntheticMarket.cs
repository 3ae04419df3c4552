namespace DistortSignals.Core.Market;

/// <summary>
/// A deterministic made-up market for demos, examples and tests: the same seed gives the same prices on
/// every machine and .NET version (it has its own generator). It moves through regimes of a few dozen bars
/// each: trending up or down, ranging around an anchor, and volatile, with volume rising in volatile
/// phases and on range breaks.
/// </summary>
public sealed class SyntheticMarket
{
    private const int StepsPerBar = 12;

    private readonly string _symbol;
    private readonly double _barVolatility;
    private readonly int _digits;
    private ulong _state;
    private double _price;
    private double _anchor;
    private MarketPhase _phase;
    private int _phaseBarsLeft;
    private int _ticksLeftInBar;

    /// <param name="barVolatility">The typical relative move of one bar, for example 0.001 for 0.1 %.</param>
    /// <param name="digits">Prices are rounded to this many decimals.</param>
    public SyntheticMarket(string symbol, double startPrice, ulong seed, double barVolatility = 0.001, int digits = 5)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(startPrice);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(barVolatility);
        _symbol = symbol;
        _price = _anchor = startPrice;
        _barVolatility = barVolatility;
        _digits = digits;
        _state = seed ^ 0x9E3779B97F4A7C15UL;
    }

    public enum MarketPhase
    {
        TrendUp,
        TrendDown,
        Range,
        Volatile,
    }

    /// <summary>The phase the last bar was made in.</summary>
    public MarketPhase Phase => _phase;

    /// <summary><paramref name="count"/> consecutive bars from <paramref name="start"/> (floored to the timeframe).</summary>
    public IEnumerable<Bar> Bars(Timeframe timeframe, DateTimeOffset start, int count)
    {
        var time = timeframe.Floor(start);
        for (var i = 0; i < count; i++)
        {
            yield return NextBar(timeframe, time);
            time += timeframe.Duration();
        }
    }

    public Bar NextBar(Timeframe timeframe, DateTimeOffset openTime)
    {
        AdvancePhase();
        var open = Round(_price);
        double high = open, low = open;
        for (var step = 0; step < StepsPerBar; step++)
        {
            Step(StepsPerBar);
            high = Math.Max(high, _price);
            low = Math.Min(low, _price);
        }

        var close = Round(_price);
        high = Math.Max(Round(high), Math.Max(open, close));
        low = Math.Min(Round(low), Math.Min(open, close));
        var volume = Math.Round(1000 * VolumeFactor() * Math.Exp(0.3 * Gaussian()));
        return new Bar(_symbol, timeframe, openTime, open, high, low, close, volume, StepsPerBar);
    }

    /// <summary>
    /// The next tick of the same process at a finer grain: <paramref name="ticksPerBar"/> ticks make up the
    /// move of one bar. Bid is the rounded price, ask is bid plus <paramref name="spread"/>.
    /// </summary>
    public Tick NextTick(DateTimeOffset time, int ticksPerBar, double spread, string source)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ticksPerBar, 1);
        if (_ticksLeftInBar-- <= 0)
        {
            AdvancePhase();
            _ticksLeftInBar = ticksPerBar - 1;
        }

        Step(ticksPerBar);
        var bid = Round(_price);
        var volume = Math.Max(1, Math.Round(1000.0 / ticksPerBar * VolumeFactor() * Math.Exp(0.3 * Gaussian())));
        return new Tick(_symbol, time, bid, Math.Round(bid + spread, _digits), null, volume, source);
    }

    private void AdvancePhase()
    {
        if (_phaseBarsLeft-- <= 0)
        {
            StartPhase();
        }
    }

    /// <summary>One step of <paramref name="stepsPerBar"/>: drift by phase, and in a range a pull back towards the anchor so it oscillates.</summary>
    private void Step(int stepsPerBar)
    {
        var stepVolatility = _barVolatility / Math.Sqrt(stepsPerBar) * (_phase == MarketPhase.Volatile ? 2.5 : 1);
        var drift = _phase switch
        {
            MarketPhase.TrendUp => 0.35 * stepVolatility * Math.Sqrt(StepsPerBar / (double)stepsPerBar),
            MarketPhase.TrendDown => -0.35 * stepVolatility * Math.Sqrt(StepsPerBar / (double)stepsPerBar),
            _ => 0,
        };
        var pull = _phase == MarketPhase.Range ? 0.08 * StepsPerBar / stepsPerBar * Math.Log(_anchor / _price) : 0;
        _price *= Math.Exp(drift + pull + (stepVolatility * Gaussian()));
    }

    private double VolumeFactor() => _phase == MarketPhase.Volatile ? 2.2 : _phase == MarketPhase.Range ? 0.8 : 1.1;

    private void StartPhase()
    {
        _phase = (MarketPhase)(int)(NextUInt64() % 4);
        _phaseBarsLeft = 30 + (int)(NextUInt64() % 60);
        _anchor = _price;
    }

    private double Round(double price) => Math.Round(price, _digits);

    /// <summary>A standard normal draw (Box-Muller over our own uniform generator).</summary>
    private double Gaussian()
    {
        var u1 = (NextUInt64() >> 11) * (1.0 / (1UL << 53));
        var u2 = (NextUInt64() >> 11) * (1.0 / (1UL << 53));
        return Math.Sqrt(-2 * Math.Log(1 - u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>SplitMix64: small, fast and fixed, unlike System.Random whose algorithm may change.</summary>
    private ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
