using System.Text.Json;
using DistortSignals.Testing;

namespace DistortSignals.Host.Tests.Run;

/// <summary>
/// Issue 4's consecutive-loss breaker through the composed host over real HTTP: the test is mt5-losses' EA and fills
/// every round trip a pip against itself, so two closes in a row lose; the breaker opens (API, EA heartbeat, hub),
/// the gateway cancels the account's pending directive, the paper account trading the same signals goes on, the
/// one-minute cool-down ends in half-open, the trial opens at half size, no second trial opens while it is open, and
/// its win closes the breaker.
/// </summary>
public sealed class ConsecutiveLossBreakerFlowTests(LossPlatform platform) : IClassFixture<LossPlatform>
{
    private const string Account = LossPlatform.LossAccount;
    private const double Pip = 0.0001;

    [Fact]
    public async Task Two_losing_round_trips_open_the_breaker_cancel_the_pending_directive_and_the_cool_down_ends_in_a_half_open_trial()
    {
        using var ea = new TestEa(platform, LossPlatform.LossKey, "mt5-losses-test");
        Assert.Equal("Closed", (await ea.HeartbeatAsync(equity: 10_000, balance: 10_000)).GetProperty("breaker").GetString());

        // The signals of seed 11 (time of the closing tick): 00:53 Sell on both symbols, 02:10 Buy, 03:15 Sell, 04:42 Buy,
        // 06:06 Buy, 06:19 Sell; the other signals of these minutes repeat a direction and are blocked as duplicates.
        // GBPUSD's 00:53 OPEN is never claimed: it is the pending directive the trip must cancel.
        await platform.PostTicksAsync("GBPUSD", 0, 60);
        await platform.PostTicksAsync("EURUSD", 0, 60);
        var pending = await PendingAsync(ea, "GBPUSD", "OPEN");
        var first = await PendingAsync(ea, "EURUSD", "OPEN");
        Assert.Equal("SELL", first.GetProperty("side").GetString());
        await FillAsync(ea, first, Price(first), expectedOpen: 1);

        // 02:10 Buy: the reversal closes the Sell, which the EA fills a pip above its entry: the first loss.
        await platform.PostTicksAsync("EURUSD", 60, 140);
        await FillAsync(ea, await PendingAsync(ea, "EURUSD", "CLOSE"), Price(first) + Pip, expectedOpen: 0);
        Assert.Equal((1, "Closed"), await LossesAndBreakerAsync());

        // 03:15 Sell opens again; 04:42 Buy closes it, again a pip against it: the second loss in a row.
        await platform.PostTicksAsync("EURUSD", 140, 200);
        var second = await PendingAsync(ea, "EURUSD", "OPEN");
        await FillAsync(ea, second, Price(second), expectedOpen: 1);
        await platform.PostTicksAsync("EURUSD", 200, 290);
        var losing = await PendingAsync(ea, "EURUSD", "CLOSE");
        await using var hub = await HubSubscriber.ConnectAsync(platform, ["accounts", "directives"], Account);
        Assert.Equal("Filled", await ea.FillAsync(losing, Price(second) + Pip));

        var opened = await hub.WaitForAsync("breaker.changed", d => State(d) == ("Open", "ConsecutiveLosses"), "the consecutive-loss breaker open", TimeSpan.FromSeconds(30));
        var account = await platform.GetJsonAsync($"/api/v1/accounts/{Account}");
        Assert.Equal(("Open", "ConsecutiveLosses", 2), (account.GetProperty("breaker").GetString(), account.GetProperty("breakerReason").GetString(), account.GetProperty("consecutiveLosses").GetInt32()));
        Assert.Equal("2 losing trades in a row (limit 2)", account.GetProperty("breakerMessage").GetString());
        var since = account.GetProperty("breakerSince").GetDateTimeOffset();
        Assert.Equal(since.AddMinutes(1), account.GetProperty("breakerUntil").GetDateTimeOffset());
        Assert.Equal(since.AddMinutes(1), opened.GetProperty("until").GetDateTimeOffset());

        // The gateway saw the account halted: the unclaimed GBPUSD directive is cancelled, published and no longer polled.
        var cancelled = await hub.WaitForAsync("directive.updated", d => d.GetProperty("id").GetString() == Id(pending) && d.GetProperty("state").GetString() == "Cancelled",
            "the GBPUSD directive cancelled", TimeSpan.FromSeconds(30));
        Assert.Equal(Account, cancelled.GetProperty("account").GetString());
        Assert.Equal("Cancelled", (await DirectiveAsync(Id(pending))).GetProperty("state").GetString());
        await Eventually.UntilAsync("the EA's poll offers nothing", async () => (await ea.PollAsync()).Length == 0);
        await Eventually.UntilAsync("the gateway tells the EA the breaker is open", async () =>
            (await ea.HeartbeatAsync(equity: 10_000, balance: 10_000)).GetProperty("breaker").GetString() == "Open");

        // The paper account traded the same signals with its own book and its breaker never moved; mt5-daily neither.
        Assert.Equal("Closed", (await platform.GetJsonAsync($"/api/v1/accounts/{LossPlatform.PaperAccount}")).GetProperty("breaker").GetString());
        var paper = (await platform.GetJsonAsync($"/api/v1/directives?account={LossPlatform.PaperAccount}&limit=1000")).GetProperty("directives").EnumerateArray().ToList();
        Assert.Contains(paper, d => d.GetProperty("state").GetString() == "Filled");
        Assert.DoesNotContain(paper, d => d.GetProperty("state").GetString() == "Cancelled");
        Assert.Equal("Closed", (await platform.GetJsonAsync($"/api/v1/accounts/{LossPlatform.DailyAccount}")).GetProperty("breaker").GetString());

        // The cool-down is a minute of wall-clock time: the breaker reminder makes the breaker half-open without any event.
        var halfOpen = await hub.WaitForAsync("breaker.changed", d => State(d) == ("HalfOpen", "ConsecutiveLosses"), "the breaker half-open", TimeSpan.FromSeconds(90));
        Assert.True(halfOpen.GetProperty("sequence").GetInt64() > opened.GetProperty("sequence").GetInt64());
        Assert.Equal("HalfOpen", (await platform.GetJsonAsync($"/api/v1/accounts/{Account}")).GetProperty("breaker").GetString());
        await Eventually.UntilAsync("the gateway tells the EA the breaker is half-open", async () =>
            (await ea.HeartbeatAsync(equity: 10_000, balance: 10_000)).GetProperty("breaker").GetString() == "HalfOpen");

        // 06:06 Buy: the half-open trial, at half the size the closed breaker would give (1% of the equity over the stop).
        await platform.PostTicksAsync("EURUSD", 290, 370);
        var trial = await PendingAsync(ea, "EURUSD", "OPEN");
        var decision = (await DecisionsAsync()).Single(d => d.GetProperty("signalId").GetString() == trial.GetProperty("signalId").GetString());
        Assert.Equal("Reduce", decision.GetProperty("verdict").GetString());
        Assert.Contains(decision.GetProperty("checks").EnumerateArray(), c => c.GetProperty("name").GetString() == "breaker" && c.GetProperty("result").GetString() == "Reduce");
        var equity = (await platform.GetJsonAsync($"/api/v1/accounts/{Account}")).GetProperty("equity").GetDouble();
        var fullLots = equity * 0.01 / (Math.Abs(Price(trial) - trial.GetProperty("sl").GetDouble()) / Pip * 10);
        Assert.InRange(trial.GetProperty("volume").GetDouble(), fullLots / 2 - 0.01, fullLots / 2);
        await FillAsync(ea, trial, Price(trial), expectedOpen: 1);

        // While the trial position is open the trial is still in flight: GBPUSD's next four signals (02:10 to 06:06)
        // get no second trial.
        await platform.PostTicksAsync("GBPUSD", 60, 370);
        JsonElement[] gbpusd = [];
        await Eventually.UntilAsync("risk decided GBPUSD's next four signals", async () =>
        {
            gbpusd = [.. (await DecisionsAsync()).Where(d => d.GetProperty("symbol").GetString() == "GBPUSD")];
            return gbpusd.Length == 6;
        }, TimeSpan.FromSeconds(30));
        Assert.All(gbpusd.Take(4), d => Assert.Contains(d.GetProperty("checks").EnumerateArray(), c =>
            c.GetProperty("name").GetString() == "breaker" && c.GetProperty("reason").GetString() == "half-open: the trial trade is still in flight"));
        Assert.DoesNotContain(await ea.PollAsync(), d => d.GetProperty("symbol").GetString() == "GBPUSD");

        // 06:19 Sell closes the trial a pip in its favour: the win closes the breaker and ends the run of losses.
        await platform.PostTicksAsync("EURUSD", 370, 385);
        Assert.Equal("Filled", await ea.FillAsync(await PendingAsync(ea, "EURUSD", "CLOSE"), Price(trial) + Pip));
        await hub.WaitForAsync("breaker.changed", d => State(d) == ("Closed", "None"), "the breaker closed", TimeSpan.FromSeconds(30));
        Assert.Equal((0, "Closed"), await LossesAndBreakerAsync());
    }

    private static (string?, string?) State(JsonElement changed) => (changed.GetProperty("state").GetString(), changed.GetProperty("breaker").GetString());

    private static string Id(JsonElement directive) => directive.GetProperty("id").GetString()!;

    private static double Price(JsonElement directive) => directive.GetProperty("price").GetDouble();

    /// <summary>Waits until the EA's poll offers a directive of <paramref name="action"/> in <paramref name="symbol"/>.</summary>
    private static async Task<JsonElement> PendingAsync(TestEa ea, string symbol, string action)
    {
        JsonElement found = default;
        await Eventually.UntilAsync($"a pending {action} {symbol} directive reaches the EA", async () =>
        {
            var match = (await ea.PollAsync()).Where(d => d.GetProperty("symbol").GetString() == symbol && d.GetProperty("action").GetString() == action).ToList();
            found = match.FirstOrDefault();
            return match.Count == 1;
        }, TimeSpan.FromSeconds(30));
        return found;
    }

    /// <summary>Fills the directive and waits until the risk role booked it (the account's open positions).</summary>
    private async Task FillAsync(TestEa ea, JsonElement directive, double price, int expectedOpen)
    {
        Assert.Equal("Filled", await ea.FillAsync(directive, price));
        await Eventually.UntilAsync($"risk booked the fill of {Id(directive)} ({expectedOpen} position open)", async () =>
            (await platform.GetJsonAsync($"/api/v1/accounts/{Account}")).GetProperty("openPositions").GetInt32() == expectedOpen, TimeSpan.FromSeconds(30));
    }

    private async Task<(int, string?)> LossesAndBreakerAsync()
    {
        var account = await platform.GetJsonAsync($"/api/v1/accounts/{Account}");
        return (account.GetProperty("consecutiveLosses").GetInt32(), account.GetProperty("breaker").GetString());
    }

    /// <summary>The account's decisions, newest first.</summary>
    private async Task<JsonElement[]> DecisionsAsync() =>
        [.. (await platform.GetJsonAsync($"/api/v1/decisions?account={Account}&limit=1000")).GetProperty("decisions").EnumerateArray()];

    private async Task<JsonElement> DirectiveAsync(string id) =>
        (await platform.GetJsonAsync($"/api/v1/directives?account={Account}&limit=1000")).GetProperty("directives").EnumerateArray()
            .Single(d => d.GetProperty("directive").GetProperty("id").GetString() == id);
}
