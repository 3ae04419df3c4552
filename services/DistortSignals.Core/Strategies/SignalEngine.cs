using DistortSignals.Core.Indicators;
using DistortSignals.Core.Market;

namespace DistortSignals.Core.Strategies;

/// <summary>Why a bar produced no signal, or <see cref="Emitted"/> when it did.</summary>
public enum SignalOutcome
{
    Emitted,
    WarmingUp,
    Duplicate,
    BelowMinStrength,
    OutsideSession,
    ConfirmationNotReady,
    ConfirmationDisagrees,
    AlreadySignalled,
}

/// <summary>What one bar came to: the outcome, and the scores once the indicators are warm.</summary>
public sealed record StrategyEvaluation(SignalOutcome Outcome, ComponentScores? Scores, MarketRegime? Regime, Signal? Signal);

/// <summary>
/// Runs one TradingStrategy on one symbol, one closed bar at a time (the formulas are in docs/strategies.md).
/// It is deterministic: the same bars give the same evaluations, so a restart that replays the stored
/// history first emits exactly what an uninterrupted run would have.
/// </summary>
public sealed class SignalEngine
{
    // Regime thresholds: ADX at or below RangingAdx is a range, at or above TrendingAdx a trend.
    internal const double RangingAdx = 20;
    internal const double TrendingAdx = 25;

    // ATR percentile at or above VolatilePercentile is volatile, at or below QuietPercentile quiet.
    internal const double VolatilePercentile = 0.8;
    internal const double QuietPercentile = 0.2;

    // A breakout bar's volume must reach this multiple of the average to count in full.
    internal const double BreakoutVolumeRatio = 1.5;

    private readonly string _strategy;
    private readonly string _symbol;
    private readonly TradingStrategySpec _spec;
    private readonly (TimeSpan Start, TimeSpan End, DayOfWeek[] Days)[] _sessions;

    private readonly Ema _emaFast;
    private readonly Ema _emaSlow;
    private readonly Rsi _rsi;
    private readonly BollingerBands _bollinger;
    private readonly Atr _atr;
    private readonly Adx _adx;
    private readonly Donchian _donchian;
    private readonly Sma _volumeAverage;
    private readonly double[] _atrHistory;
    private int _atrCount;

    private readonly Ema? _confirmFast;
    private readonly Ema? _confirmSlow;
    private DateTimeOffset _confirmPeriod;
    private double? _confirmClose;

    private DateTimeOffset? _lastBarTime;
    private SignalDirection? _lastSignalled;

    public SignalEngine(string strategy, TradingStrategySpec spec, string symbol)
    {
        _strategy = strategy;
        _symbol = symbol;
        _spec = spec;
        _sessions = [.. spec.Sessions.Select(s => (
            TradingStrategyValidator.ParseSessionTime(s.Start) ?? throw new ArgumentException($"spec.sessions: '{s.Start}' is not HH:mm", nameof(spec)),
            TradingStrategyValidator.ParseSessionTime(s.End) ?? throw new ArgumentException($"spec.sessions: '{s.End}' is not HH:mm", nameof(spec)),
            s.Days.ToArray()))];

        var periods = spec.Indicators;
        _emaFast = new Ema(periods.EmaFast);
        _emaSlow = new Ema(periods.EmaSlow);
        _rsi = new Rsi(periods.Rsi);
        _bollinger = new BollingerBands(periods.Bollinger, periods.BollingerStdDev);
        _atr = new Atr(periods.Atr);
        _adx = new Adx(periods.Adx);
        _donchian = new Donchian(periods.Donchian);
        _volumeAverage = new Sma(periods.Volume);
        _atrHistory = new double[periods.AtrPercentile];
        if (spec.ConfirmTimeframe is not null)
        {
            _confirmFast = new Ema(periods.EmaFast);
            _confirmSlow = new Ema(periods.EmaSlow);
        }
    }

    /// <summary>Bars taken so far (duplicates excluded).</summary>
    public int BarCount { get; private set; }

    /// <summary>Takes the next closed bar of the strategy's timeframe and says whether it makes a signal.</summary>
    public StrategyEvaluation OnBar(Bar bar)
    {
        if (bar.Symbol != _symbol || bar.Timeframe != _spec.Timeframe)
        {
            throw new ArgumentException($"bar {bar.Symbol} {bar.Timeframe} does not belong to {_symbol} {_spec.Timeframe}", nameof(bar));
        }

        // At-least-once delivery can repeat a bar or bring one late: history does not change afterwards.
        if (bar.OpenTime <= _lastBarTime)
        {
            return new(SignalOutcome.Duplicate, null, null, null);
        }

        _lastBarTime = bar.OpenTime;
        BarCount++;

        // The breakout compares this bar's volume with the average of the bars before it.
        var priorVolume = _volumeAverage.Value;
        var ohlcv = bar.ToOhlcv();
        _emaFast.Update(ohlcv);
        _emaSlow.Update(ohlcv);
        _rsi.Update(ohlcv);
        _bollinger.Update(ohlcv);
        _atr.Update(ohlcv);
        _adx.Update(ohlcv);
        _donchian.Update(ohlcv);
        // Sma averages the close; the volume rides in that slot.
        _volumeAverage.Update(new Ohlcv(bar.Volume, bar.Volume, bar.Volume, bar.Volume, 0));
        if (_atr.Value is { } atrValue)
        {
            _atrHistory[_atrCount++ % _atrHistory.Length] = atrValue;
        }

        UpdateConfirmation(bar);

        // An ATR of 0 (a market that has not moved) cannot scale the scores: it counts as not warm yet.
        if (_emaFast.Value is not { } emaFast || _emaSlow.Value is not { } emaSlow || _rsi.Value is not { } rsi
            || _bollinger.Middle is null || _atr.Value is not { } atr || _adx.Value is not { } adx
            || _donchian.Upper is not { } upper || _donchian.Lower is not { } lower || priorVolume is null
            || _atrCount < _atrHistory.Length || atr <= 0)
        {
            return new(SignalOutcome.WarmingUp, null, null, null);
        }

        var regime = Regime(adx, atr);
        var momentum = Momentum(emaFast, emaSlow, rsi, atr);
        var meanReversion = MeanReversion(_bollinger.ZScore ?? 0, rsi);
        var breakout = Breakout(bar, upper, lower, atr, priorVolume.Value);
        var combined = Combine(regime, momentum, meanReversion, breakout);
        var scores = new ComponentScores(momentum, meanReversion, breakout, combined);

        var outcome = Filter(bar, combined, out var direction);
        if (outcome != SignalOutcome.Emitted)
        {
            return new(outcome, scores, regime, null);
        }

        var stopDistance = _spec.Exits.StopAtr * atr;
        var sign = direction == SignalDirection.Buy ? 1 : -1;
        var signal = new Signal(
            Signal.CreateId(_strategy, _symbol, bar.Timeframe, bar.OpenTime),
            _strategy,
            _symbol,
            bar.Timeframe,
            bar.OpenTime,
            bar.CloseTime,
            direction,
            Math.Abs(combined),
            bar.Close,
            bar.Close - (sign * stopDistance),
            bar.Close + (sign * _spec.Exits.RewardRisk * stopDistance),
            atr,
            regime,
            scores);
        return new(SignalOutcome.Emitted, scores, regime, signal);
    }

    /// <summary>Momentum: the fast-slow EMA spread in ATRs and RSI's distance from 50, averaged.</summary>
    internal static double Momentum(double emaFast, double emaSlow, double rsi, double atr) =>
        (Clamp((emaFast - emaSlow) / atr) + Clamp((rsi - 50) / 25)) / 2;

    /// <summary>Mean reversion: the Bollinger z-score in band widths and RSI's distance from 50, both inverted, averaged.</summary>
    internal double MeanReversion(double zScore, double rsi) =>
        (Clamp(-zScore / _spec.Indicators.BollingerStdDev) + Clamp((50 - rsi) / 25)) / 2;

    /// <summary>
    /// Breakout: a close beyond the previous Donchian channel scores 0.5 plus the excess in ATRs (at most 1),
    /// scaled down when the bar's volume is below <see cref="BreakoutVolumeRatio"/> times the average.
    /// </summary>
    internal static double Breakout(Bar bar, double upper, double lower, double atr, double averageVolume)
    {
        var excess = bar.Close > upper ? (bar.Close - upper) / atr
            : bar.Close < lower ? (bar.Close - lower) / atr
            : 0;
        if (excess == 0)
        {
            return 0;
        }

        // Without volume data (an average of 0) the volume cannot confirm or deny the break.
        var volumeFactor = averageVolume > 0 ? Math.Min(1, bar.Volume / (averageVolume * BreakoutVolumeRatio)) : 1;
        return Math.Sign(excess) * Math.Min(1, 0.5 + Math.Abs(excess)) * volumeFactor;
    }

    private MarketRegime Regime(double adx, double atr)
    {
        var atBelow = 0;
        foreach (var value in _atrHistory)
        {
            if (value <= atr)
            {
                atBelow++;
            }
        }

        var percentile = (double)atBelow / _atrHistory.Length;
        var trend = adx >= TrendingAdx ? TrendRegime.Trending : adx <= RangingAdx ? TrendRegime.Ranging : TrendRegime.Transitional;
        var volatility = percentile >= VolatilePercentile ? VolatilityRegime.Volatile
            : percentile <= QuietPercentile ? VolatilityRegime.Quiet
            : VolatilityRegime.Normal;
        return new MarketRegime(trend, volatility, adx, percentile);
    }

    /// <summary>
    /// The regime shifts weight between momentum and mean reversion: a trend (t = 1) gives momentum its
    /// full weight and mean reversion a quarter; a range (t = 0) the reverse. High volatility halves mean
    /// reversion. The result is the weighted mean of the three scores.
    /// </summary>
    private double Combine(MarketRegime regime, double momentum, double meanReversion, double breakout)
    {
        var t = Math.Clamp((regime.Adx - RangingAdx) / (TrendingAdx - RangingAdx), 0, 1);
        var weights = _spec.Weights;
        var wMomentum = weights.Momentum * (0.25 + (0.75 * t));
        var wMeanReversion = weights.MeanReversion * (1 - (0.75 * t)) * (regime.Volatility == VolatilityRegime.Volatile ? 0.5 : 1);
        var wBreakout = weights.Breakout;
        var total = wMomentum + wMeanReversion + wBreakout;
        return total > 0 ? Clamp(((wMomentum * momentum) + (wMeanReversion * meanReversion) + (wBreakout * breakout)) / total) : 0;
    }

    /// <summary>
    /// A signal needs the strength, the session and the higher timeframe; it is emitted once when it
    /// qualifies, and again only after it stopped qualifying or turned to the other side.
    /// </summary>
    private SignalOutcome Filter(Bar bar, double combined, out SignalDirection direction)
    {
        direction = combined >= 0 ? SignalDirection.Buy : SignalDirection.Sell;
        var outcome = Math.Abs(combined) < _spec.MinStrength ? SignalOutcome.BelowMinStrength
            : !InSession(bar.CloseTime) ? SignalOutcome.OutsideSession
            : ConfirmationOf(direction);
        if (outcome != SignalOutcome.Emitted)
        {
            _lastSignalled = null;
            return outcome;
        }

        if (_lastSignalled == direction)
        {
            return SignalOutcome.AlreadySignalled;
        }

        _lastSignalled = direction;
        return SignalOutcome.Emitted;
    }

    private bool InSession(DateTimeOffset time)
    {
        if (_sessions.Length == 0)
        {
            return true;
        }

        var timeOfDay = time.UtcDateTime.TimeOfDay;
        foreach (var (start, end, days) in _sessions)
        {
            if (start < end)
            {
                if (timeOfDay >= start && timeOfDay < end && OnDay(days, time.DayOfWeek))
                {
                    return true;
                }
            }
            else if ((timeOfDay >= start && OnDay(days, time.DayOfWeek))
                || (timeOfDay < end && OnDay(days, time.AddDays(-1).DayOfWeek)))
            {
                // A window past midnight belongs to the day it opened.
                return true;
            }
        }

        return false;

        static bool OnDay(DayOfWeek[] days, DayOfWeek day) => days.Length == 0 || Array.IndexOf(days, day) >= 0;
    }

    /// <summary>
    /// Folds the strategy's bars into the confirmation timeframe's closes. A period is complete when a bar
    /// ends at its boundary, or (after a gap) when a bar of a later period arrives; only complete periods count.
    /// </summary>
    private void UpdateConfirmation(Bar bar)
    {
        if (_spec.ConfirmTimeframe is not { } timeframe)
        {
            return;
        }

        var period = timeframe.Floor(bar.OpenTime);
        if (_confirmClose is { } pending && period != _confirmPeriod)
        {
            CompleteConfirmationBar(pending);
        }

        _confirmPeriod = period;
        _confirmClose = bar.Close;
        if (bar.CloseTime == period + timeframe.Duration())
        {
            CompleteConfirmationBar(bar.Close);
        }
    }

    private void CompleteConfirmationBar(double close)
    {
        var ohlcv = new Ohlcv(close, close, close, close, 0);
        _confirmFast!.Update(ohlcv);
        _confirmSlow!.Update(ohlcv);
        _confirmClose = null;
    }

    private SignalOutcome ConfirmationOf(SignalDirection direction)
    {
        if (_confirmFast is null)
        {
            return SignalOutcome.Emitted;
        }

        if (_confirmFast.Value is not { } fast || _confirmSlow!.Value is not { } slow)
        {
            return SignalOutcome.ConfirmationNotReady;
        }

        var agrees = direction == SignalDirection.Buy ? fast > slow : fast < slow;
        return agrees ? SignalOutcome.Emitted : SignalOutcome.ConfirmationDisagrees;
    }

    private static double Clamp(double value) => Math.Clamp(value, -1, 1);
}
