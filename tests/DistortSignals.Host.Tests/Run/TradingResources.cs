using DistortSignals.Testing;

namespace DistortSignals.Host.Tests.Run;

/// <summary>The manifests in Resources/trading and the ticks that make their strategy trade.</summary>
internal static class TradingResources
{
    private static readonly DateTimeOffset MarketStart = new(2025, 4, 7, 0, 0, 0, TimeSpan.Zero);

    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Resources", "trading");

    public static IEnumerable<string> TickBatches(int minutes) => MinuteTicks.NdjsonBatches(MarketStart, minutes, seed: 11, "flow");
}
