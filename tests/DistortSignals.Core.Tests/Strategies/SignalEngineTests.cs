using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Testing;

namespace DistortSignals.Core.Tests.Strategies;

public sealed class SignalEngineTests
{
    private static List<StrategyEvaluation> Run(TradingStrategySpec spec, IEnumerable<Bar> bars, string name = "test")
    {
        var engine = new SignalEngine(name, spec, "TEST");
        return [.. bars.Select(engine.OnBar)];
    }

    private static List<Signal> Signals(IEnumerable<StrategyEvaluation> evaluations) =>
        [.. evaluations.Where(e => e.Signal is not null).Select(e => e.Signal!)];

    [Fact]
    public void A_clean_uptrend_gives_one_momentum_buy_and_no_sell()
    {
        var bars = new SeriesBuilder().Range(60).Trend(80, 0.3).Bars;
        var evaluations = Run(StrategySpecs.With(1, 0, 0), bars);

        var signal = Assert.Single(Signals(evaluations));
        Assert.Equal(SignalDirection.Buy, signal.Direction);
        Assert.True(signal.BarTime >= bars[60].OpenTime, "the signal comes from the trend, not the range before it");
        Assert.True(signal.Scores.Momentum > 0.5);
        Assert.Contains(evaluations, e => e.Outcome == SignalOutcome.AlreadySignalled);
    }

    [Fact]
    public void A_clean_downtrend_gives_a_sell_with_the_stop_above_and_the_target_below()
    {
        var spec = StrategySpecs.With(1, 0, 0) with { Exits = new ExitRules { StopAtr = 1.5, RewardRisk = 3 } };
        var bars = new SeriesBuilder().Range(60).Trend(80, -0.3).Bars;

        var signal = Assert.Single(Signals(Run(spec, bars)));

        Assert.Equal(SignalDirection.Sell, signal.Direction);
        var bar = bars.Single(b => b.OpenTime == signal.BarTime);
        Assert.Equal(bar.Close, signal.Entry);
        Assert.Equal(bar.CloseTime, signal.Time);
        Assert.Equal(bar.Close + (1.5 * signal.Atr), signal.StopLoss, 12);
        Assert.Equal(bar.Close - (3 * 1.5 * signal.Atr), signal.TakeProfit, 12);
        Assert.True(signal.Atr > 0);
    }

    [Fact]
    public void A_spike_out_of_a_range_gives_a_mean_reversion_buy()
    {
        var builder = new SeriesBuilder().Range(80);
        var quiet = Run(StrategySpecs.With(0, 1, 0, minStrength: 0.8), builder.Bars);
        Assert.Empty(Signals(quiet));

        var bars = builder.Close(98).Bars;
        var evaluations = Run(StrategySpecs.With(0, 1, 0, minStrength: 0.8), bars);

        var signal = Assert.Single(Signals(evaluations));
        Assert.Equal(SignalDirection.Buy, signal.Direction);
        Assert.Equal(bars[^1].OpenTime, signal.BarTime);
        Assert.True(signal.Scores.MeanReversion >= 0.8);
    }

    [Fact]
    public void A_range_break_on_high_volume_is_a_breakout_and_the_same_break_on_normal_volume_is_not()
    {
        var spec = StrategySpecs.With(0, 0, 1, minStrength: 0.8);
        var withVolume = new SeriesBuilder().Range(80).Close(100.5, volume: 3000).Bars;
        var withoutVolume = new SeriesBuilder().Range(80).Close(100.5, volume: 1000).Bars;

        var signal = Assert.Single(Signals(Run(spec, withVolume)));
        Assert.Equal(SignalDirection.Buy, signal.Direction);
        Assert.Equal(1, signal.Scores.Breakout);

        var quiet = Run(spec, withoutVolume);
        Assert.Empty(Signals(quiet));
        Assert.Equal(SignalOutcome.BelowMinStrength, quiet[^1].Outcome);
        Assert.Equal(1000 / (1000 * SignalEngine.BreakoutVolumeRatio), quiet[^1].Scores!.Breakout, 12);
    }

    [Fact]
    public void A_downward_range_break_is_a_sell()
    {
        var bars = new SeriesBuilder().Range(80).Close(99.5, volume: 3000).Bars;
        var signal = Assert.Single(Signals(Run(StrategySpecs.With(0, 0, 1, minStrength: 0.8), bars)));
        Assert.Equal(SignalDirection.Sell, signal.Direction);
    }

    [Fact]
    public void Signals_outside_the_session_are_held_back_until_it_opens()
    {
        // Monday 00:00 onwards, H1: without sessions the trend first qualifies at Wednesday 15:00.
        var bars = new SeriesBuilder().Range(60).Trend(120, 0.3).Bars;
        var always = Assert.Single(Signals(Run(StrategySpecs.With(1, 0, 0), bars)));
        Assert.Equal((DayOfWeek.Wednesday, 15), (always.Time.DayOfWeek, always.Time.Hour));
        var spec = StrategySpecs.With(1, 0, 0) with
        {
            Sessions = [new SessionWindow { Days = [DayOfWeek.Thursday], Start = "12:00", End = "14:00" }],
        };

        var evaluations = Run(spec, bars);

        Assert.Contains(evaluations, e => e.Outcome == SignalOutcome.OutsideSession);
        var signal = Assert.Single(Signals(evaluations));
        Assert.Equal((DayOfWeek.Thursday, 12), (signal.Time.DayOfWeek, signal.Time.Hour));
        Assert.Equal(SignalDirection.Buy, signal.Direction);
    }

    [Fact]
    public void A_session_past_midnight_belongs_to_the_day_it_opens()
    {
        // The trend first qualifies at Wednesday 15:00 (see the test above).
        var bars = new SeriesBuilder().Range(60).Trend(120, 0.3).Bars;
        SessionWindow Overnight(DayOfWeek day) => new() { Days = [day], Start = "22:00", End = "16:00" };

        var fromTuesday = Assert.Single(Signals(Run(StrategySpecs.With(1, 0, 0) with { Sessions = [Overnight(DayOfWeek.Tuesday)] }, bars)));
        var fromWednesday = Assert.Single(Signals(Run(StrategySpecs.With(1, 0, 0) with { Sessions = [Overnight(DayOfWeek.Wednesday)] }, bars)));

        // Tuesday's window runs on to Wednesday 16:00; Wednesday's opens at Wednesday 22:00.
        Assert.Equal((DayOfWeek.Wednesday, 15), (fromTuesday.Time.DayOfWeek, fromTuesday.Time.Hour));
        Assert.Equal((DayOfWeek.Wednesday, 22), (fromWednesday.Time.DayOfWeek, fromWednesday.Time.Hour));
    }

    [Fact]
    public void A_buy_against_the_higher_timeframe_trend_is_suppressed()
    {
        // A long fall sets the H4 trend down; a short sharp rally turns H1 momentum up.
        var bars = new SeriesBuilder().Trend(220, -0.3).Trend(16, 0.8).Bars;
        var unconfirmed = Signals(Run(StrategySpecs.With(1, 0, 0), bars));
        var confirmedSpec = StrategySpecs.With(1, 0, 0) with { ConfirmTimeframe = Timeframe.H4 };
        var confirmed = Run(confirmedSpec, bars);

        Assert.Contains(unconfirmed, s => s.Direction == SignalDirection.Buy);
        Assert.DoesNotContain(Signals(confirmed), s => s.Direction == SignalDirection.Buy);
        Assert.Contains(confirmed, e => e.Outcome == SignalOutcome.ConfirmationDisagrees);
        Assert.Contains(Signals(confirmed), s => s.Direction == SignalDirection.Sell);
    }

    [Fact]
    public void Before_the_higher_timeframe_has_warmed_up_nothing_is_emitted()
    {
        var spec = StrategySpecs.With(1, 0, 0) with { ConfirmTimeframe = Timeframe.D1 };
        var evaluations = Run(spec, new SeriesBuilder().Range(60).Trend(80, 0.3).Bars);

        Assert.Empty(Signals(evaluations));
        Assert.Contains(evaluations, e => e.Outcome == SignalOutcome.ConfirmationNotReady);
    }

    [Fact]
    public void Replaying_a_series_twice_gives_the_same_signals()
    {
        var bars = new SyntheticMarket("TEST", 1.1, seed: 11).Bars(Timeframe.H1, new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero), 3000).ToList();
        var spec = StrategySpecs.With(0.5, 0.3, 0.2, minStrength: 0.4) with { ConfirmTimeframe = Timeframe.H4 };

        var first = Signals(Run(spec, bars));
        var second = Signals(Run(spec, bars));

        Assert.True(first.Count > 10, $"the series should produce signals, got {first.Count}");
        Assert.Equal(first, second);
    }

    [Fact]
    public void Stopping_halfway_and_restarting_with_warm_up_from_the_earlier_bars_gives_the_same_signals()
    {
        var bars = new SyntheticMarket("TEST", 1.1, seed: 12).Bars(Timeframe.H1, new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero), 3000).ToList();
        var spec = StrategySpecs.With(0.5, 0.3, 0.2, minStrength: 0.4) with { ConfirmTimeframe = Timeframe.H4 };
        var uninterrupted = Signals(Run(spec, bars));

        const int stop = 1700;
        var beforeStop = Signals(Run(spec, bars.Take(stop)));
        var restarted = new SignalEngine("test", spec, "TEST");
        foreach (var bar in bars.Take(stop))
        {
            restarted.OnBar(bar);
        }

        var afterRestart = Signals(bars.Skip(stop).Select(restarted.OnBar));

        Assert.NotEmpty(beforeStop);
        Assert.NotEmpty(afterRestart);
        Assert.Equal(uninterrupted, [.. beforeStop, .. afterRestart]);
    }

    [Fact]
    public void Repeated_and_late_bars_change_nothing()
    {
        var bars = new SyntheticMarket("TEST", 1.1, seed: 13).Bars(Timeframe.H1, new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero), 1500).ToList();
        var spec = StrategySpecs.With(0.5, 0.3, 0.2, minStrength: 0.4);
        var once = Signals(Run(spec, bars));

        var engine = new SignalEngine("test", spec, "TEST");
        var delivered = new List<StrategyEvaluation>();
        for (var i = 0; i < bars.Count; i++)
        {
            delivered.Add(engine.OnBar(bars[i]));
            Assert.Equal(SignalOutcome.Duplicate, engine.OnBar(bars[i]).Outcome);
            if (i > 0)
            {
                Assert.Equal(SignalOutcome.Duplicate, engine.OnBar(bars[i - 1]).Outcome);
            }
        }

        Assert.Equal(once, Signals(delivered));
    }

    [Fact]
    public void Scores_stay_within_minus_one_and_one_and_regimes_are_detected()
    {
        var bars = new SyntheticMarket("TEST", 1.1, seed: 14).Bars(Timeframe.H1, new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero), 3000);
        var evaluations = Run(StrategySpecs.With(0.4, 0.3, 0.3), bars).Where(e => e.Scores is not null).ToList();

        Assert.All(evaluations, e =>
        {
            Assert.InRange(e.Scores!.Momentum, -1, 1);
            Assert.InRange(e.Scores.MeanReversion, -1, 1);
            Assert.InRange(e.Scores.Breakout, -1, 1);
            Assert.InRange(e.Scores.Combined, -1, 1);
            Assert.InRange(e.Regime!.AtrPercentile, 0, 1);
        });
        Assert.Equal(3, evaluations.Select(e => e.Regime!.Trend).Distinct().Count());
        Assert.Equal(3, evaluations.Select(e => e.Regime!.Volatility).Distinct().Count());
    }

    [Fact]
    public void The_trend_regime_follows_adx_thresholds()
    {
        var trend = Run(StrategySpecs.With(1, 0, 0), new SeriesBuilder().Trend(120, 0.3).Bars)[^1].Regime!;
        var range = Run(StrategySpecs.With(1, 0, 0), new SeriesBuilder().Range(120).Bars)[^1].Regime!;

        Assert.Equal(TrendRegime.Trending, trend.Trend);
        Assert.True(trend.Adx >= SignalEngine.TrendingAdx);
        Assert.Equal(TrendRegime.Ranging, range.Trend);
        Assert.True(range.Adx <= SignalEngine.RangingAdx);
    }

    [Fact]
    public void Signal_ids_depend_only_on_strategy_symbol_timeframe_and_bar()
    {
        var time = new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
        var id = Signal.CreateId("trend", "EURUSD", Timeframe.H1, time);

        Assert.Equal(id, Signal.CreateId("trend", "EURUSD", Timeframe.H1, time));
        Assert.NotEqual(id, Signal.CreateId("trend2", "EURUSD", Timeframe.H1, time));
        Assert.NotEqual(id, Signal.CreateId("trend", "GBPUSD", Timeframe.H1, time));
        Assert.NotEqual(id, Signal.CreateId("trend", "EURUSD", Timeframe.M15, time));
        Assert.NotEqual(id, Signal.CreateId("trend", "EURUSD", Timeframe.H1, time.AddHours(1)));
        Assert.Matches("^sig-[0-9a-f]{20}$", id);
    }

    [Fact]
    public void A_bar_of_another_symbol_or_timeframe_is_refused()
    {
        var engine = new SignalEngine("test", StrategySpecs.With(1, 0, 0), "TEST");
        var bar = new SeriesBuilder().Range(1).Bars[0];

        Assert.Throws<ArgumentException>(() => engine.OnBar(bar with { Symbol = "OTHER" }));
        Assert.Throws<ArgumentException>(() => engine.OnBar(bar with { Timeframe = Timeframe.M15 }));
    }
}
