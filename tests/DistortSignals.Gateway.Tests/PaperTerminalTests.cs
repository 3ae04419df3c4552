using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Market;
using DistortSignals.Platform.Messaging;
using DistortSignals.Testing;

namespace DistortSignals.Gateway.Tests;

/// <summary>The paper terminal over the host's real HTTP address: fills at the latest close with slippage, books P&amp;L, heartbeats its equity.</summary>
public sealed class PaperTerminalTests : IAsyncLifetime
{
    private GatewayTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await GatewayTestHost.StartAsync([("paper", BrokerKind.Paper), ("live", BrokerKind.MT5)], new Dictionary<string, string?> { ["Gateway:PaperSlippagePips"] = "0.5" });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task The_paper_terminal_fills_at_the_latest_close_with_slippage_and_marks_equity_to_market()
    {
        await PublishBarAsync(1.10000, minute: 0);
        await _host.CreateAsync(GatewayTestHost.Directive("paper-open", "paper"));
        var open = await FilledAsync("paper-open");
        Assert.Equal(1.10005, open.Price!.Value, 8);
        Assert.Equal((ExecutionOutcome.Filled, 0.1, "paper-paper", 10009), (open.Outcome, open.FilledVolume, open.TerminalId, open.Retcode!.Value));

        // Up 9.5 pips on 0.1 lot of EURUSD at 10 per pip per lot: +9.5.
        await PublishBarAsync(1.10100, minute: 1);
        await Eventually.UntilAsync("a heartbeat marks the position to the new close", async () =>
            await LatestHeartbeatAsync() is { } beat && Math.Abs(beat.Equity - 100_009.5) < 1e-6 && beat.Positions.Count == 1);

        await _host.CreateAsync(GatewayTestHost.Directive("paper-close", "paper", side: OrderSide.Sell, action: DirectiveAction.Close));
        var close = await FilledAsync("paper-close");
        Assert.Equal(1.10095, close.Price!.Value, 8);
        await Eventually.UntilAsync("the closed trade is in the balance", async () =>
            await LatestHeartbeatAsync() is { } beat && Math.Abs(beat.Balance - 100_009) < 1e-6 && beat.Positions.Count == 0 && beat.Connected);
    }

    [Fact]
    public async Task The_paper_terminal_fails_a_directive_without_a_price_and_leaves_other_accounts_alone()
    {
        var noPrice = GatewayTestHost.Directive("paper-noprice", "paper") with { Symbol = "USDJPY" };
        await _host.CreateAsync(noPrice);
        await Eventually.UntilAsync("the directive failed", async () => await _host.StateAsync("paper-noprice") == DirectiveState.Failed);
        var failed = (await _host.OutboxAsync(Topics.Events.ExecutionReported)).Select(e => e.ReadData<ExecutionReported>()).Single(r => r.Directive.Id == "paper-noprice");
        Assert.Equal((ExecutionOutcome.Failed, 10021), (failed.Outcome, failed.Retcode!.Value));

        await _host.CreateAsync(GatewayTestHost.Directive("live-1", "live"));
        await Task.Delay(1500);
        Assert.Equal(DirectiveState.Pending, await _host.StateAsync("live-1"));
    }

    private async Task PublishBarAsync(double close, int minute)
    {
        var time = new DateTimeOffset(2026, 1, 5, 10, minute, 0, TimeSpan.Zero);
        var bar = new Bar("EURUSD", Timeframe.M1, time, close, close, close, close, 10);
        await _host.PublishAsync(Topics.Bars, CloudEvent.Create($"bar-{minute}", "ingest", Topics.Events.BarClosed, "EURUSD", bar.CloseTime, bar));
        await Eventually.UntilAsync($"the close {close} is kept", async () =>
        {
            await using var command = _host.DataSource.CreateCommand("SELECT close FROM gateway.prices WHERE symbol = 'EURUSD'");
            return await command.ExecuteScalarAsync() is double kept && kept == close;
        });
    }

    private async Task<ExecutionReported> FilledAsync(string id)
    {
        await Eventually.UntilAsync($"{id} is filled", async () => await _host.StateAsync(id) == DirectiveState.Filled);
        return (await _host.OutboxAsync(Topics.Events.ExecutionReported)).Select(e => e.ReadData<ExecutionReported>()).Single(r => r.Directive.Id == id);
    }

    private async Task<AccountHeartbeat?> LatestHeartbeatAsync() =>
        (await _host.OutboxAsync(Topics.Events.AccountHeartbeat)).Select(e => e.ReadData<AccountHeartbeat>()).LastOrDefault(h => h.Account == "paper");
}
