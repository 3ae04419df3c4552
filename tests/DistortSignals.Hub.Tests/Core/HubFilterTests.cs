using DistortSignals.Hub.Core;
using DistortSignals.Platform.Messaging;

namespace DistortSignals.Hub.Tests.Core;

public sealed class HubFilterTests
{
    private static HubEvent Published(string channel, CloudEvent cloudEvent)
    {
        using var metrics = new HubMetrics();
        using var hub = new EventHub(new HubOptions(), metrics, new ManualTimeProvider());
        return hub.Publish(channel, cloudEvent);
    }

    [Fact]
    public void Empty_filter_matches_every_event()
    {
        Assert.True(HubFilter.All.Matches(Published(Topics.Bars, HubTestEvents.Bar("EURUSD", 0, 1.1m))));
        Assert.True(new HubFilter([], [], []).Matches(Published(Topics.Accounts, HubTestEvents.AccountState("acc-1", "Closed"))));
    }

    [Fact]
    public void Symbol_of_bars_and_signals_is_the_subject()
    {
        var filter = new HubFilter(symbols: ["eurusd"]);

        Assert.True(filter.Matches(Published(Topics.Bars, HubTestEvents.Bar("EURUSD", 0, 1.1m))));
        Assert.False(filter.Matches(Published(Topics.Bars, HubTestEvents.Bar("GBPUSD", 0, 1.3m))));
        Assert.True(filter.Matches(Published(Topics.Signals, HubTestEvents.Signal("trend", "EURUSD", 0, "Buy"))));
        Assert.False(filter.Matches(Published(Topics.Signals, HubTestEvents.Signal("trend", "USDJPY", 0, "Buy"))));
    }

    [Fact]
    public void Strategy_comes_from_the_data()
    {
        var filter = new HubFilter(strategies: ["trend"]);

        Assert.True(filter.Matches(Published(Topics.Signals, HubTestEvents.Signal("trend", "EURUSD", 0, "Buy"))));
        Assert.False(filter.Matches(Published(Topics.Signals, HubTestEvents.Signal("revert", "EURUSD", 0, "Sell"))));
        Assert.False(filter.Matches(Published(Topics.Decisions, HubTestEvents.Decision("acc-1", "revert", "EURUSD", 1))));
    }

    [Fact]
    public void Account_comes_from_the_data_or_the_subject_of_account_keyed_channels()
    {
        var filter = new HubFilter(accounts: ["acc-1"]);

        Assert.True(filter.Matches(Published(Topics.Accounts, HubTestEvents.AccountState("acc-1", "Closed"))));
        Assert.False(filter.Matches(Published(Topics.Accounts, HubTestEvents.AccountState("acc-2", "Closed"))));
        var keyedBySubjectOnly = CloudEvent.Create("e1", "gateway", Topics.Events.ExecutionReported, "acc-2", DateTimeOffset.UnixEpoch, new { ticket = 5 });
        Assert.False(filter.Matches(Published(Topics.Executions, keyedBySubjectOnly)));
    }

    [Fact]
    public void An_event_without_the_filtered_attribute_is_not_excluded_by_it()
    {
        var filter = new HubFilter(strategies: ["trend"], accounts: ["acc-1"]);

        Assert.True(filter.Matches(Published(Topics.Bars, HubTestEvents.Bar("EURUSD", 0, 1.1m))));
    }

    [Fact]
    public void All_lists_must_match()
    {
        var filter = new HubFilter(symbols: ["EURUSD"], strategies: ["trend"]);

        Assert.True(filter.Matches(Published(Topics.Signals, HubTestEvents.Signal("trend", "EURUSD", 0, "Buy"))));
        Assert.False(filter.Matches(Published(Topics.Signals, HubTestEvents.Signal("trend", "GBPUSD", 0, "Buy"))));
        Assert.False(filter.Matches(Published(Topics.Signals, HubTestEvents.Signal("revert", "EURUSD", 0, "Buy"))));
    }
}
