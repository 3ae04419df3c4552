using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;

namespace DistortSignals.Core.Tests.Strategies;

internal static class StrategySpecs
{
    /// <summary>A spec with short periods (quick warm-up) and only the given weights.</summary>
    public static TradingStrategySpec With(double momentum, double meanReversion, double breakout, double minStrength = 0.5) => new()
    {
        Symbols = ["TEST"],
        Timeframe = Timeframe.H1,
        Weights = new StrategyWeights { Momentum = momentum, MeanReversion = meanReversion, Breakout = breakout },
        MinStrength = minStrength,
        Indicators = new IndicatorPeriods { AtrPercentile = 20 },
    };
}
