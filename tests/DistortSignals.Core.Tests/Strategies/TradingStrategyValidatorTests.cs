using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;

namespace DistortSignals.Core.Tests.Strategies;

public sealed class TradingStrategyValidatorTests
{
    private static readonly TradingStrategySpec Valid = new() { Symbols = ["EURUSD"], Timeframe = Timeframe.H1 };

    [Fact]
    public void A_spec_with_defaults_is_valid()
    {
        Assert.Empty(TradingStrategyValidator.Validate(Valid));
    }

    public static TheoryData<string, TradingStrategySpec, string> Invalid => new()
    {
        { "no symbols", Valid with { Symbols = [] }, "spec.symbols" },
        { "too many symbols", Valid with { Symbols = [.. Enumerable.Range(0, 51).Select(i => $"S{i}")] }, "spec.symbols" },
        { "bad symbol", Valid with { Symbols = ["eur usd"] }, "spec.symbols[0]" },
        { "duplicate symbol", Valid with { Symbols = ["EURUSD", "EURUSD"] }, "spec.symbols[1]" },
        { "unknown timeframe", Valid with { Timeframe = (Timeframe)99 }, "spec.timeframe" },
        { "confirm not higher", Valid with { ConfirmTimeframe = Timeframe.M15 }, "spec.confirmTimeframe" },
        { "confirm equal", Valid with { ConfirmTimeframe = Timeframe.H1 }, "spec.confirmTimeframe" },
        { "weight above 1", Valid with { Weights = new StrategyWeights { Momentum = 1.5 } }, "spec.weights.momentum" },
        { "negative weight", Valid with { Weights = new StrategyWeights { MeanReversion = -0.1 } }, "spec.weights.meanReversion" },
        { "NaN weight", Valid with { Weights = new StrategyWeights { Breakout = double.NaN } }, "spec.weights.breakout" },
        { "all weights zero", Valid with { Weights = new StrategyWeights { Momentum = 0, MeanReversion = 0, Breakout = 0 } }, "spec.weights" },
        { "minStrength above 1", Valid with { MinStrength = 1.2 }, "spec.minStrength" },
        { "ema fast not below slow", Valid with { Indicators = new IndicatorPeriods { EmaFast = 30, EmaSlow = 26 } }, "spec.indicators.emaFast" },
        { "period too short", Valid with { Indicators = new IndicatorPeriods { Rsi = 1 } }, "spec.indicators.rsi" },
        { "period too long", Valid with { Indicators = new IndicatorPeriods { Donchian = 5000 } }, "spec.indicators.donchian" },
        { "zero stop", Valid with { Exits = new ExitRules { StopAtr = 0 } }, "spec.exits.stopAtr" },
        { "negative reward", Valid with { Exits = new ExitRules { RewardRisk = -1 } }, "spec.exits.rewardRisk" },
        { "bad session time", Valid with { Sessions = [new SessionWindow { Start = "25:00", End = "10:00" }] }, "spec.sessions[0].start" },
        { "session not HH:mm", Valid with { Sessions = [new SessionWindow { Start = "09:00", End = "5pm" }] }, "spec.sessions[0].end" },
        { "empty session", Valid with { Sessions = [new SessionWindow { Start = "09:00", End = "09:00" }] }, "spec.sessions[0]" },
        { "bad account", Valid with { Accounts = ["Paper_Main"] }, "spec.accounts[0]" },
        { "negative replicas", Valid with { Replicas = -1 }, "spec.replicas" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_invalid_spec_is_refused_naming_the_field(string because, TradingStrategySpec spec, string field)
    {
        var errors = TradingStrategyValidator.Validate(spec);

        var error = Assert.Single(errors);
        Assert.True(error.Field == field, $"{because}: expected the error on {field}, got {error}");
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void Messages_quote_the_offending_value()
    {
        var errors = TradingStrategyValidator.Validate(Valid with { MinStrength = 1.25, Accounts = ["Bad!"] });

        Assert.Contains(errors, e => e.Field == "spec.minStrength" && e.Message.Contains("1.25", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Field == "spec.accounts[0]" && e.Message.Contains("'Bad!'", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var errors = TradingStrategyValidator.Validate(Valid with { Symbols = [], MinStrength = 2, Replicas = 99 });

        Assert.Equal(["spec.symbols", "spec.minStrength", "spec.replicas"], errors.Select(e => e.Field));
    }
}
