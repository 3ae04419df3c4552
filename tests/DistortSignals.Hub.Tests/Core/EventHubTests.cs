using DistortSignals.Hub.Core;
using DistortSignals.Platform.Messaging;

namespace DistortSignals.Hub.Tests.Core;

public sealed class EventHubTests : IDisposable
{
    private const string SubscribeAll = """{"type":"subscribe","channels":["bars","signals","decisions","directives","executions","accounts"]}""";

    private readonly HubMetrics _metrics = new();
    private readonly ManualTimeProvider _time = new();
    private EventHub? _hub;

    public void Dispose()
    {
        _hub?.Dispose();
        _metrics.Dispose();
    }

    [Fact]
    public async Task Every_event_gets_the_next_seq_and_reaches_subscribers_in_order()
    {
        var hub = Hub();
        var client = await SubscribedAsync(hub, SubscribeAll);

        hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", 0, 1.1m));
        hub.Publish(Topics.Signals, HubTestEvents.Signal("trend", "EURUSD", 0, "Buy"));
        hub.Publish(Topics.Accounts, HubTestEvents.AccountState("acc-1", "Closed"));

        for (var seq = 1; seq <= 3; seq++)
        {
            var message = await client.NextAsync();
            Assert.Equal("event", message.Type());
            Assert.Equal(seq, message.Seq());
        }

        Assert.Equal(3, hub.LastSeq);
    }

    [Fact]
    public async Task Event_message_carries_the_channel_and_the_cloud_event()
    {
        var hub = Hub();
        var client = await SubscribedAsync(hub, """{"type":"subscribe","channels":["signals"]}""");

        hub.Publish(Topics.Signals, HubTestEvents.Signal("trend", "EURUSD", 7, "Sell"));

        var message = await client.NextAsync();
        Assert.Equal("signals", message.GetProperty("channel").GetString());
        var cloudEvent = message.GetProperty("event");
        Assert.Equal("signal-trend-EURUSD-7", cloudEvent.GetProperty("id").GetString());
        Assert.Equal("io.distortsignals.signal.generated.v1", cloudEvent.GetProperty("type").GetString());
        Assert.Equal("Sell", cloudEvent.GetProperty("data").GetProperty("direction").GetString());
    }

    [Fact]
    public async Task Subscribed_lists_the_current_channels_and_unsubscribe_stops_delivery()
    {
        var hub = Hub();
        var client = hub.Connect();
        client.Receive("""{"type":"subscribe","channels":["signals","bars"]}""");
        Assert.Equal(["bars", "signals"], Channels(await client.NextAsync()));

        client.Receive("""{"type":"unsubscribe","channels":["bars"]}""");
        var answer = await client.NextAsync();
        Assert.Equal("subscribed", answer.Type());
        Assert.Equal(["signals"], Channels(answer));

        hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", 0, 1.1m));
        hub.Publish(Topics.Signals, HubTestEvents.Signal("trend", "EURUSD", 0, "Buy"));

        Assert.Equal("signals", (await client.NextAsync()).GetProperty("channel").GetString());
        await client.AssertNothingPendingAsync();
    }

    [Fact]
    public async Task Filter_limits_the_events_of_its_channels()
    {
        var hub = Hub();
        var client = await SubscribedAsync(hub, """{"type":"subscribe","channels":["signals"],"filter":{"symbols":["GBPUSD"],"strategies":[]}}""");

        hub.Publish(Topics.Signals, HubTestEvents.Signal("trend", "EURUSD", 0, "Buy"));
        hub.Publish(Topics.Signals, HubTestEvents.Signal("trend", "GBPUSD", 0, "Sell"));

        var message = await client.NextAsync();
        Assert.Equal(2, message.Seq());
        await client.AssertNothingPendingAsync();
    }

    [Fact]
    public async Task Resume_within_the_buffer_replays_the_matching_events_after_since_then_live_ones()
    {
        var hub = Hub();
        for (var i = 0; i < 5; i++)
        {
            hub.Publish(Topics.Bars, HubTestEvents.Bar(i % 2 == 0 ? "EURUSD" : "GBPUSD", i, 1.1m));
        }

        var client = hub.Connect(since: 2);
        client.Receive("""{"type":"subscribe","channels":["bars"],"filter":{"symbols":["EURUSD"]}}""");
        Assert.Equal("subscribed", (await client.NextAsync()).Type());
        hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", 5, 1.1m));

        Assert.Equal(3, (await client.NextAsync()).Seq());
        Assert.Equal(5, (await client.NextAsync()).Seq());
        Assert.Equal(6, (await client.NextAsync()).Seq());
        await client.AssertNothingPendingAsync();
    }

    [Fact]
    public async Task Resume_older_than_the_buffer_starts_with_a_gap_for_the_missing_range()
    {
        var hub = Hub(new HubOptions { ReplayBufferSize = 3 });
        for (var i = 0; i < 10; i++)
        {
            hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", i, 1.1m));
        }

        var client = await SubscribedAsync(hub, """{"type":"subscribe","channels":["bars"]}""", since: 4);

        var gap = await client.NextAsync();
        Assert.Equal("gap", gap.Type());
        Assert.Equal(5, gap.GetProperty("from").GetInt64());
        Assert.Equal(7, gap.GetProperty("to").GetInt64());
        for (var seq = 8; seq <= 10; seq++)
        {
            Assert.Equal(seq, (await client.NextAsync()).Seq());
        }
    }

    [Fact]
    public async Task Resume_applies_only_to_the_first_subscribe()
    {
        var hub = Hub();
        hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", 0, 1.1m));
        hub.Publish(Topics.Signals, HubTestEvents.Signal("trend", "EURUSD", 0, "Buy"));

        var client = await SubscribedAsync(hub, """{"type":"subscribe","channels":["bars"]}""", since: 0);
        Assert.Equal(1, (await client.NextAsync()).Seq());
        client.Receive("""{"type":"subscribe","channels":["signals"]}""");

        Assert.Equal("subscribed", (await client.NextAsync()).Type());
        await client.AssertNothingPendingAsync();
    }

    [Fact]
    public async Task A_full_queue_drops_the_pending_events_for_one_gap_and_goes_on()
    {
        var hub = Hub(new HubOptions { ClientQueueSize = 3, OverflowLimit = 10 });
        var client = await SubscribedAsync(hub, """{"type":"subscribe","channels":["bars"]}""");

        for (var i = 0; i < 8; i++)
        {
            hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", i, 1.1m));
        }

        // 1-3 fill the queue; 4 overflows it (gap 1-3); 5, 6 fill it again; 7 overflows (gap merged: 1-6); 8 follows.
        var gap = await client.NextAsync();
        Assert.Equal("gap", gap.Type());
        Assert.Equal(1, gap.GetProperty("from").GetInt64());
        Assert.Equal(6, gap.GetProperty("to").GetInt64());
        Assert.Equal(7, (await client.NextAsync()).Seq());
        Assert.Equal(8, (await client.NextAsync()).Seq());
        Assert.Null(client.Close);
    }

    [Fact]
    public async Task A_client_that_overflows_repeatedly_is_closed_with_1013()
    {
        var hub = Hub(new HubOptions { ClientQueueSize = 2, OverflowLimit = 2 });
        var client = await SubscribedAsync(hub, """{"type":"subscribe","channels":["bars"]}""");

        for (var i = 0; i < 6; i++)
        {
            hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", i, 1.1m));
        }

        var close = await client.NextCloseAsync();
        Assert.Equal(HubCloseStatus.TryAgainLater, close.Status);
        Assert.Contains("overflowed 2 times", close.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Overflows_older_than_the_window_are_forgotten()
    {
        var hub = Hub(new HubOptions { ClientQueueSize = 1, OverflowLimit = 2, OverflowWindow = TimeSpan.FromSeconds(10) });
        var client = await SubscribedAsync(hub, """{"type":"subscribe","channels":["bars"]}""");

        hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", 0, 1.1m));
        hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", 1, 1.1m));
        Assert.Equal("gap", (await client.NextAsync()).Type());
        Assert.Equal(2, (await client.NextAsync()).Seq());
        _time.Advance(TimeSpan.FromSeconds(11));
        hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", 2, 1.1m));
        hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", 3, 1.1m));

        Assert.Equal("gap", (await client.NextAsync()).Type());
        Assert.Null(client.Close);
    }

    [Fact]
    public async Task A_client_that_takes_nothing_for_the_stall_timeout_is_closed_with_1008()
    {
        var hub = Hub(new HubOptions { StallTimeout = TimeSpan.FromSeconds(30) });
        var client = await SubscribedAsync(hub, """{"type":"subscribe","channels":["bars"]}""");
        hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", 0, 1.1m));

        _time.Advance(TimeSpan.FromSeconds(29));
        hub.CheckStalledClients();
        Assert.Null(client.Close);
        _time.Advance(TimeSpan.FromSeconds(2));
        hub.CheckStalledClients();

        var close = await client.NextCloseAsync();
        Assert.Equal(HubCloseStatus.PolicyViolation, close.Status);
        Assert.Contains("slow client", close.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_idle_client_with_nothing_waiting_is_not_stalled()
    {
        var hub = Hub(new HubOptions { StallTimeout = TimeSpan.FromSeconds(30) });
        var client = await SubscribedAsync(hub, """{"type":"subscribe","channels":["bars"]}""");

        _time.Advance(TimeSpan.FromMinutes(5));
        hub.CheckStalledClients();
        hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", 0, 1.1m));
        hub.CheckStalledClients();

        Assert.Null(client.Close);
        Assert.Equal(1, (await client.NextAsync()).Seq());
    }

    [Fact]
    public async Task A_slow_client_does_not_hold_up_a_fast_one()
    {
        var hub = Hub(new HubOptions { ClientQueueSize = 10, OverflowLimit = 1_000 });
        var slow = await SubscribedAsync(hub, SubscribeAll);
        var fast = await SubscribedAsync(hub, SubscribeAll);

        for (var i = 0; i < 1_000; i++)
        {
            hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", i, 1.1m));
            Assert.Equal(i + 1, (await fast.NextAsync()).Seq());
        }

        Assert.Equal("gap", (await slow.NextAsync()).Type());
    }

    [Theory]
    [InlineData("{\"type\":", "malformed JSON")]
    [InlineData("[1,2]", "must be a JSON object")]
    [InlineData("{\"channels\":[\"bars\"]}", "needs a string \"type\"")]
    [InlineData("{\"type\":\"dance\"}", "unknown message type 'dance'")]
    [InlineData("{\"type\":\"subscribe\",\"channels\":[\"bars\",\"candles\"]}", "unknown channel 'candles'")]
    [InlineData("{\"type\":\"subscribe\",\"channels\":[]}", "at least one of")]
    [InlineData("{\"type\":\"subscribe\",\"channels\":[\"bars\"],\"filter\":{\"symbols\":\"EURUSD\"}}", "\"filter.symbols\" must be a list of strings")]
    [InlineData("{\"type\":\"unsubscribe\",\"channels\":[\"ticks\"]}", "unknown channel 'ticks'")]
    public async Task A_message_the_hub_cannot_act_on_is_answered_with_an_error(string text, string expected)
    {
        var hub = Hub();
        var client = hub.Connect();

        client.Receive(text);

        var answer = await client.NextAsync();
        Assert.Equal("error", answer.Type());
        Assert.Contains(expected, answer.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Null(client.Close);
    }

    [Fact]
    public async Task An_unknown_channel_in_subscribe_changes_nothing()
    {
        var hub = Hub();
        var client = hub.Connect();
        client.Receive("""{"type":"subscribe","channels":["bars","candles"]}""");
        Assert.Equal("error", (await client.NextAsync()).Type());

        hub.Publish(Topics.Bars, HubTestEvents.Bar("EURUSD", 0, 1.1m));

        await client.AssertNothingPendingAsync();
    }

    [Fact]
    public async Task Ping_is_answered_with_pong()
    {
        var client = Hub().Connect();

        client.Receive("""{"type":"ping"}""");

        Assert.Equal("pong", (await client.NextAsync()).Type());
    }

    [Fact]
    public void Publishing_to_an_unknown_channel_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => Hub().Publish("ticks", HubTestEvents.Bar("EURUSD", 0, 1.1m)));
        Assert.Contains("ticks", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refuse_sends_the_error_before_the_close()
    {
        var client = Hub().Connect();

        client.Refuse(HubCloseStatus.MessageTooBig, "message larger than 16384 bytes");

        Assert.Equal("error", (await client.NextAsync()).Type());
        Assert.Equal(HubCloseStatus.MessageTooBig, (await client.NextCloseAsync()).Status);
    }

    private static string[] Channels(System.Text.Json.JsonElement subscribed) =>
        subscribed.GetProperty("channels").EnumerateArray().Select(channel => channel.GetString()!).ToArray();

    private EventHub Hub(HubOptions? options = null) => _hub = new EventHub(options ?? new HubOptions(), _metrics, _time);

    private static async Task<HubClient> SubscribedAsync(EventHub hub, string subscribe, long? since = null)
    {
        var client = hub.Connect(since);
        client.Receive(subscribe);
        Assert.Equal("subscribed", (await client.NextAsync()).Type());
        return client;
    }
}
