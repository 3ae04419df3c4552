using System.Security.Cryptography;
using System.Text;
using DistortSignals.Core.Market;

namespace DistortSignals.Core.Strategies;

public enum SignalDirection
{
    Buy,
    Sell,
}

public enum TrendRegime
{
    Ranging,
    Transitional,
    Trending,
}

public enum VolatilityRegime
{
    Quiet,
    Normal,
    Volatile,
}

/// <summary>The market state a signal was scored in: trend strength from ADX, volatility from the ATR percentile (0..1).</summary>
public sealed record MarketRegime(TrendRegime Trend, VolatilityRegime Volatility, double Adx, double AtrPercentile);

/// <summary>Each component's score in [-1, 1] (positive is bullish) and their regime-weighted combination.</summary>
public sealed record ComponentScores(double Momentum, double MeanReversion, double Breakout, double Combined);

/// <summary>
/// A trade idea from one strategy on one closed bar. <see cref="Id"/> depends only on the strategy, symbol,
/// timeframe and bar, so a replay or a restart produces the same id and consumers can deduplicate.
/// </summary>
public sealed record Signal(
    string Id,
    string Strategy,
    string Symbol,
    Timeframe Timeframe,
    DateTimeOffset BarTime,
    DateTimeOffset Time,
    SignalDirection Direction,
    double Strength,
    double Entry,
    double StopLoss,
    double TakeProfit,
    double Atr,
    MarketRegime Regime,
    ComponentScores Scores)
{
    /// <summary>"sig-" and 20 hex digits of SHA-256 over strategy, symbol, timeframe and bar open time.</summary>
    public static string CreateId(string strategy, string symbol, Timeframe timeframe, DateTimeOffset barTime)
    {
        var key = $"{strategy}|{symbol}|{timeframe}|{barTime.UtcTicks}";
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        return "sig-" + Convert.ToHexStringLower(hash.AsSpan(0, 10));
    }
}
