using System.Net;
using DistortSignals.Testing;

namespace DistortSignals.Host.Tests.Run;

/// <summary>
/// The manifests in Resources/losses (strategy loss-m1 on EURUSD and GBPUSD; accounts mt5-losses, paper-losses and
/// mt5-daily) and their ticks. Each test class that uses it gets its own host and database.
/// </summary>
public sealed class LossPlatform : RunningPlatform
{
    /// <summary>The MT5 account the strategy trades, whose EA is the test: two losses in a row open its breaker for a minute.</summary>
    public const string LossAccount = "mt5-losses";

    public const string LossKey = "ds_DEMOKEY-lmt5-loss-PUBLIC-not-for-real-uses0";

    /// <summary>The paper account the same strategy trades: it must not notice mt5-losses' breaker.</summary>
    public const string PaperAccount = "paper-losses";

    /// <summary>An MT5 account no strategy names, with the default 3% daily loss limit and day reset.</summary>
    public const string DailyAccount = "mt5-daily";

    public const string DailyKey = "ds_DEMOKEY-dmt5-daily-PUBLIC-not-for-real-use0";

    private static readonly DateTimeOffset MarketStart = new(2025, 4, 7, 0, 0, 0, TimeSpan.Zero);

    protected override string ResourcesFolder => Path.Combine(AppContext.BaseDirectory, "Resources", "losses");

    /// <summary>
    /// Posts the market minutes [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="symbol"/>. Both symbols
    /// use seed 11, the trading flow's: its series gives the signals the loss test needs (its steps list them).
    /// </summary>
    public async Task PostTicksAsync(string symbol, int from, int to)
    {
        var startPrice = symbol == "GBPUSD" ? 1.2700 : 1.0850;
        foreach (var batch in MinuteTicks.NdjsonBatches(MarketStart, to, seed: 11, "losses", symbol, startPrice, fromMinute: from))
        {
            using var response = await PostAsync("/api/v1/ticks", batch, IngestKey, "application/x-ndjson");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }
}
