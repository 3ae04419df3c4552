using DistortSignals.Core.Indicators;

namespace DistortSignals.Core.Tests.Indicators;

public class IndicatorCatalogTests
{
    [Theory]
    [InlineData("RSI(14)", "RSI(14)", typeof(Rsi))]
    [InlineData("rsi( 14 )", "RSI(14)", typeof(Rsi))]
    [InlineData("  Rsi ", "RSI(14)", typeof(Rsi))]
    [InlineData("RSI()", "RSI(14)", typeof(Rsi))]
    [InlineData("sma(7)", "SMA(7)", typeof(Sma))]
    [InlineData("EMA(200)", "EMA(200)", typeof(Ema))]
    [InlineData("MACD(12,26,9)", "MACD(12,26,9)", typeof(Macd))]
    [InlineData("macd(5)", "MACD(5,26,9)", typeof(Macd))]
    [InlineData("MACD", "MACD(12,26,9)", typeof(Macd))]
    [InlineData("BB(20,2.5)", "BB(20,2.5)", typeof(BollingerBands))]
    [InlineData("BB(20, 2.0)", "BB(20,2)", typeof(BollingerBands))]
    [InlineData("bb", "BB(20,2)", typeof(BollingerBands))]
    [InlineData("ATR", "ATR(14)", typeof(Atr))]
    [InlineData("ADX(7)", "ADX(7)", typeof(Adx))]
    [InlineData("stoch(5,3)", "STOCH(5,3,3)", typeof(Stochastic))]
    [InlineData("WILLR", "WILLR(14)", typeof(WilliamsR))]
    [InlineData("CCI", "CCI(20)", typeof(Cci))]
    [InlineData("obv", "OBV", typeof(Obv))]
    [InlineData("OBV()", "OBV", typeof(Obv))]
    [InlineData("Donchian(55)", "DONCHIAN(55)", typeof(Donchian))]
    [InlineData("KELTNER(20,1.5)", "KELTNER(20,1.5,10)", typeof(Keltner))]
    [InlineData("SuperTrend", "SUPERTREND(10,3)", typeof(SuperTrend))]
    [InlineData("supertrend(7, 2.25)", "SUPERTREND(7,2.25)", typeof(SuperTrend))]
    [InlineData("vwap", "VWAP", typeof(Vwap))]
    public void Parses_ids_with_defaults(string text, string canonical, Type type)
    {
        var indicator = IndicatorCatalog.Create(text);

        Assert.IsType(type, indicator);
        Assert.Equal(canonical, indicator.Id);
    }

    [Theory]
    [InlineData("FOO(3)", "unknown indicator 'FOO(3)'; known: SMA(period), EMA(period), RSI(period)")]
    [InlineData("", "empty indicator ID")]
    [InlineData("RSI(0)", "RSI(0): period must be at least 1, got 0")]
    [InlineData("rsi(-3)", "rsi(-3): period must be at least 1, got -3")]
    [InlineData("SMA", "SMA: missing parameter period (SMA(period))")]
    [InlineData("RSI(14", "RSI(14: expected ')' at the end")]
    [InlineData("RSI(14)x", "RSI(14)x: expected ')' at the end")]
    [InlineData("RSI((14))", "RSI((14)): unbalanced parentheses")]
    [InlineData("RSI(14,2)", "RSI(14,2): RSI takes at most 1 parameter (RSI(period)), got 2")]
    [InlineData("OBV(3)", "OBV(3): OBV takes no parameters, got 1")]
    [InlineData("RSI(14.5)", "RSI(14.5): period must be an integer, got '14.5'")]
    [InlineData("RSI(abc)", "RSI(abc): period must be an integer, got 'abc'")]
    [InlineData("MACD(12,,9)", "MACD(12,,9): parameter slow is empty")]
    [InlineData("MACD(26,12,9)", "MACD(26,12,9): slow must be at least 27, got 12")]
    [InlineData("BB(20,0)", "BB(20,0): multiplier must be a finite number greater than 0, got 0")]
    [InlineData("BB(20,NaN)", "BB(20,NaN): multiplier must be a number, got 'NaN'")]
    [InlineData("STOCH(14,0,3)", "STOCH(14,0,3): signal must be at least 1, got 0")]
    public void Rejects_bad_ids_with_a_message_naming_the_problem(string text, string message)
    {
        var ex = Assert.Throws<FormatException>(() => IndicatorCatalog.Create(text));

        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructors_reject_bad_parameters_naming_parameter_and_value()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Sma(0));
        Assert.Equal("period", ex.ParamName);
        Assert.Contains("period must be at least 1, got 0", ex.Message, StringComparison.Ordinal);

        Assert.Equal("multiplier", Assert.Throws<ArgumentOutOfRangeException>(() => new Keltner(20, double.PositiveInfinity)).ParamName);
        Assert.Equal("atrPeriod", Assert.Throws<ArgumentOutOfRangeException>(() => new SuperTrend(0)).ParamName);
        Assert.Equal("smooth", Assert.Throws<ArgumentOutOfRangeException>(() => new Stochastic(14, 3, 0)).ParamName);
    }

    [Fact]
    public void Batch_rejects_a_short_output()
    {
        var bars = IndicatorTestData.RandomWalk(10, seed: 1);

        Assert.Throws<ArgumentException>(() => Sma.Batch(bars, new double?[9], 3));
        Assert.Throws<ArgumentException>(() => Macd.Batch(bars, new MacdPoint[9]));
    }

    [Fact]
    public void Every_known_indicator_round_trips_through_its_id()
    {
        foreach (var id in IndicatorTestData.AllIds)
        {
            Assert.Equal(id, IndicatorCatalog.Create(id).Id);
        }
    }
}
