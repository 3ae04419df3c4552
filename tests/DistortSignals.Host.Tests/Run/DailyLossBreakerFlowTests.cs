using System.Globalization;
using System.Net;
using System.Text.Json;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DistortSignals.Host.Tests.Run;

/// <summary>
/// Issue 4's daily-loss breaker through the composed host over real HTTP: the test is mt5-daily's EA, whose heartbeat
/// equity falls more than the default 3% in the day. The breaker opens until the next 17:00 New York (computed here on
/// its own), the hub publishes it, the EA is told; after a reset and a day reset moved to the next minute, a second
/// trip closes by itself when that reset passes.
/// </summary>
public sealed class DailyLossBreakerFlowTests(LossPlatform platform) : IClassFixture<LossPlatform>
{
    private const string Account = LossPlatform.DailyAccount;

    [Fact]
    public async Task A_daily_loss_in_the_heartbeat_opens_the_breaker_until_the_next_day_reset_which_closes_it()
    {
        // The first part runs on the real clock and needs one trading day: when the real 17:00 New York is less than a
        // minute away, it starts after it.
        var started = DateTimeOffset.UtcNow;
        var untilPastRealReset = NextFivePmNewYork(started) - started + TimeSpan.FromSeconds(1);
        if (untilPastRealReset < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(untilPastRealReset);
        }

        using var ea = new TestEa(platform, LossPlatform.DailyKey, "mt5-daily-test");
        await using var hub = await HubSubscriber.ConnectAsync(platform, ["accounts"], Account);
        await ea.HeartbeatAsync(equity: 10_000, balance: 10_000);
        await Eventually.UntilAsync("risk took the first heartbeat", async () =>
            (await platform.GetJsonAsync($"/api/v1/accounts/{Account}")).GetProperty("lastHeartbeat").ValueKind != JsonValueKind.Null);

        await ea.HeartbeatAsync(equity: 9_650, balance: 10_000);

        var opened = await hub.WaitForAsync("breaker.changed", d => State(d) == ("Open", "DailyLoss"), "the daily-loss breaker open", TimeSpan.FromSeconds(30));
        var account = await platform.GetJsonAsync($"/api/v1/accounts/{Account}");
        Assert.Equal(("Open", "DailyLoss"), (account.GetProperty("breaker").GetString(), account.GetProperty("breakerReason").GetString()));
        Assert.Equal("daily P&L -3.5% reached the limit -3%", account.GetProperty("breakerMessage").GetString());
        Assert.Equal(-3.5, account.GetProperty("dailyPnlPct").GetDouble(), 6);
        var nextFivePmNewYork = NextFivePmNewYork(account.GetProperty("breakerSince").GetDateTimeOffset());
        Assert.Equal(nextFivePmNewYork, account.GetProperty("breakerUntil").GetDateTimeOffset());
        Assert.Equal(nextFivePmNewYork, opened.GetProperty("until").GetDateTimeOffset());
        await Eventually.UntilAsync("the gateway tells the EA the breaker is open", async () =>
            (await ea.HeartbeatAsync(equity: 9_650, balance: 10_000)).GetProperty("breaker").GetString() == "Open");
        Assert.Equal("Closed", (await platform.GetJsonAsync($"/api/v1/accounts/{LossPlatform.LossAccount}")).GetProperty("breaker").GetString());
        Assert.Equal("Closed", (await platform.GetJsonAsync($"/api/v1/accounts/{LossPlatform.PaperAccount}")).GetProperty("breaker").GetString());

        // The crossing of a reset without waiting for 17:00: a reset, then the day reset moved to a UTC minute at
        // least 30 s ahead (time to trip again before it, on a slow machine too), then another 3.6% down on the new day.
        var admin = (await platform.Services.GetRequiredService<ApiKeyStore>().CreateAsync(Scopes.Admin, "daily loss test")).Secret;
        using (var reset = await platform.PostAsync($"/api/v1/accounts/{Account}/breaker/reset", """{"token":"daily-loss-flow","reason":"test"}""", admin))
        {
            Assert.True(JsonDocument.Parse(await reset.Content.ReadAsStringAsync()).RootElement.GetProperty("applied").GetBoolean());
        }

        var now = DateTimeOffset.UtcNow.AddSeconds(30);
        var dayReset = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(1);
        using (var admins = platform.Client(admin))
        using (var configured = await admins.PutAsync(new Uri($"/api/v1/accounts/{Account}/config", UriKind.Relative), JsonContent(Spec(dayReset))))
        {
            Assert.Equal(HttpStatusCode.NoContent, configured.StatusCode);
        }

        await ea.HeartbeatAsync(equity: 9_300, balance: 10_000);

        var reopened = await hub.WaitForAsync("breaker.changed", d => State(d) == ("Open", "DailyLoss") && d.GetProperty("sequence").GetInt64() > opened.GetProperty("sequence").GetInt64(),
            "the daily-loss breaker open again", TimeSpan.FromSeconds(30));
        Assert.Equal(dayReset, reopened.GetProperty("until").GetDateTimeOffset());
        var closed = await hub.WaitForAsync("breaker.changed", d => State(d) == ("Closed", "None") && d.GetProperty("sequence").GetInt64() > reopened.GetProperty("sequence").GetInt64(),
            "the breaker closed by the day reset", dayReset - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30));
        Assert.True(closed.GetProperty("since").GetDateTimeOffset() >= dayReset, "closed before the day reset");
        account = await platform.GetJsonAsync($"/api/v1/accounts/{Account}");
        Assert.Equal(("Closed", 0.0), (account.GetProperty("breaker").GetString(), account.GetProperty("dailyPnlPct").GetDouble()));
    }

    private static (string?, string?) State(JsonElement changed) => (changed.GetProperty("state").GetString(), changed.GetProperty("breaker").GetString());

    /// <summary>The FX day reset after <paramref name="time"/>, from the zone's own rules: 17:00 in New York.</summary>
    private static DateTimeOffset NextFivePmNewYork(DateTimeOffset time)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        var local = TimeZoneInfo.ConvertTime(time, zone).DateTime;
        var reset = local.Date.AddHours(17);
        if (reset <= local)
        {
            reset = reset.AddDays(1);
        }

        return new DateTimeOffset(reset, zone.GetUtcOffset(reset)).ToUniversalTime();
    }

    /// <summary>mt5-daily's spec as in Resources/losses, with its day reset at <paramref name="dayReset"/> UTC.</summary>
    private static object Spec(DateTimeOffset dayReset) => new
    {
        spec = new
        {
            broker = "MT5",
            credentialsSecretRef = new { name = "mt5-daily-ea", key = "apiKey" },
            risk = new { dayReset = new { time = dayReset.ToString("HH:mm", CultureInfo.InvariantCulture), timeZone = "UTC" }, maxSignalAgeSeconds = 0 },
            instruments = new[] { new { symbol = "EURUSD", contractSize = 100000, pipSize = 0.0001, pipValuePerLot = 10 } },
            directiveTtlSeconds = 3600,
        },
    };

    private static StringContent JsonContent(object value) => new(JsonSerializer.Serialize(value), System.Text.Encoding.UTF8, "application/json");
}
