using DistortSignals.Platform.Messaging;

namespace DistortSignals.Hub.Tests;

/// <summary>CloudEvents shaped as the producing roles send them.</summary>
internal static class HubTestEvents
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);

    public static DateTimeOffset BarTime(int index) => Start.AddHours(index);

    public static CloudEvent Bar(string symbol, int index, decimal close, string? padding = null) =>
        CloudEvent.Create($"bar-{symbol}-H1-{index}", "ingest", Topics.Events.BarClosed, symbol, BarTime(index).AddHours(1), new
        {
            symbol,
            timeframe = "H1",
            openTime = BarTime(index),
            open = close - 0.001m,
            high = close + 0.002m,
            low = close - 0.002m,
            close,
            volume = 100,
            tickCount = 10,
            padding,
        });

    public static CloudEvent Signal(string strategy, string symbol, int barIndex, string direction) =>
        CloudEvent.Create($"signal-{strategy}-{symbol}-{barIndex}", "signals", Topics.Events.SignalGenerated, symbol, BarTime(barIndex).AddHours(1), new
        {
            id = $"{strategy}-{symbol}-{barIndex}",
            strategy,
            symbol,
            timeframe = "H1",
            barTime = BarTime(barIndex),
            time = BarTime(barIndex).AddHours(1),
            direction,
            strength = 0.82,
            entry = 1.0850m,
            stopLoss = 1.0800m,
            takeProfit = 1.0950m,
            atr = 0.0025m,
            regime = "Trending",
            scores = new { momentum = 0.9, meanReversion = 0.1, breakout = 0.7 },
        });

    public static CloudEvent AccountState(string account, string breaker, int version = 1) =>
        CloudEvent.Create($"account-{account}-{version}", "risk", Topics.Events.AccountState, account, Start.AddMinutes(version), new
        {
            account,
            equity = 10_250.5m,
            balance = 10_000m,
            openPositions = 1,
            breaker = new { state = breaker, reason = breaker == "Open" ? "daily loss limit" : null },
        });

    public static CloudEvent Decision(string account, string strategy, string symbol, int index) =>
        CloudEvent.Create($"decision-{account}-{index}", "risk", Topics.Events.RiskDecided, account, Start.AddMinutes(index), new
        {
            account,
            strategy,
            symbol,
            approved = true,
        });
}
