using System.Net;
using System.Net.WebSockets;
using DistortSignals.Hub.Core;
using DistortSignals.Hub.Tests.Core;
using DistortSignals.Platform.Messaging;

namespace DistortSignals.Hub.Tests.Web;

public sealed class HubWebSocketTests
{
    [Fact]
    public async Task Events_delivered_to_the_hub_or_given_at_their_commit_reach_a_subscribed_socket()
    {
        await using var server = await HubServer.StartAsync();
        using var client = await server.ConnectAsync();
        var subscribed = await client.SubscribeAsync("""{"type":"subscribe","channels":["signals","bars"],"filter":{"symbols":[],"strategies":[],"accounts":[]}}""");
        Assert.Equal(["bars", "signals"], subscribed.GetProperty("channels").EnumerateArray().Select(c => c.GetString()));

        await server.PublishAsync(Topics.Signals, HubTestEvents.Signal("trend", "EURUSD", 3, "Buy"));
        await server.PublishAsync(Topics.Accounts, HubTestEvents.AccountState("acc-1", "Closed"));
        await server.PublishAsync(Topics.Bars, HubTestEvents.Bar("EURUSD", 4, 1.1m), atCommit: true);

        var signal = await client.ReceiveAsync();
        Assert.Equal("event", signal.Type());
        Assert.Equal("signals", signal.GetProperty("channel").GetString());
        Assert.Equal(1, signal.Seq());
        Assert.Equal("signal-trend-EURUSD-3", signal.GetProperty("event").GetProperty("id").GetString());
        var bar = await client.ReceiveAsync();
        Assert.Equal(3, bar.Seq());
        Assert.Equal("bars", bar.GetProperty("channel").GetString());
    }

    [Fact]
    public async Task Since_resumes_from_the_buffer_with_a_gap_for_what_it_no_longer_holds()
    {
        await using var server = await HubServer.StartAsync(new Dictionary<string, string?> { ["Hub:ReplayBufferSize"] = "5" });
        for (var i = 0; i < 8; i++)
        {
            await server.PublishAsync(Topics.Bars, HubTestEvents.Bar("EURUSD", i, 1.1m));
        }

        using var client = await server.ConnectAsync("since=2");
        await client.SubscribeAsync("""{"type":"subscribe","channels":["bars"]}""");

        var gap = await client.ReceiveAsync();
        Assert.Equal("gap", gap.Type());
        Assert.Equal((3, 3), (gap.GetProperty("from").GetInt64(), gap.GetProperty("to").GetInt64()));
        for (var seq = 4; seq <= 8; seq++)
        {
            Assert.Equal(seq, (await client.ReceiveAsync()).Seq());
        }
    }

    [Fact]
    public async Task Malformed_messages_are_answered_with_errors_and_the_connection_stays_open()
    {
        await using var server = await HubServer.StartAsync();
        using var client = await server.ConnectAsync();

        await client.SendAsync("not json");
        Assert.Contains("malformed JSON", (await client.ReceiveAsync()).GetProperty("message").GetString(), StringComparison.Ordinal);
        await client.SendAsync("""{"type":"subscribe","channels":["candles"]}""");
        Assert.Contains("unknown channel 'candles'", (await client.ReceiveAsync()).GetProperty("message").GetString(), StringComparison.Ordinal);
        await client.SendAsync("""{"type":"ping"}""");

        Assert.Equal("pong", (await client.ReceiveAsync()).Type());
    }

    [Fact]
    public async Task An_oversized_message_closes_the_connection_with_1009()
    {
        await using var server = await HubServer.StartAsync();
        using var client = await server.ConnectAsync();

        await client.SendAsync("""{"type":"subscribe","channels":["bars"],"filter":{"symbols":[""" + string.Join(",", Enumerable.Repeat("\"EURUSD\"", 3_000)) + "]}}");

        var error = await client.ReceiveAsync();
        Assert.Equal("error", error.Type());
        var (status, reason) = await client.ReceiveCloseAsync();
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, status);
        Assert.Contains("16384 bytes", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_never_reads_does_not_slow_the_others_and_is_disconnected()
    {
        await using var server = await HubServer.StartAsync(new Dictionary<string, string?>
        {
            ["Hub:ClientQueueSize"] = "50",
            ["Hub:OverflowLimit"] = "1000",
            // Long enough that a pause of the whole process (GC, CPU taken by the hypervisor) does not look like a stall of the fast client.
            ["Hub:StallTimeout"] = "00:00:05",
            ["Hub:CloseTimeout"] = "00:00:30",
        });
        using var slow = await server.ConnectAsync();
        await slow.SubscribeAsync("""{"type":"subscribe","channels":["bars"]}""");
        using var fast = await server.ConnectAsync();
        await fast.SubscribeAsync("""{"type":"subscribe","channels":["bars"]}""");

        // 1,500 events of 16 KiB: far more than the socket buffers of a client that never reads can hold.
        // They go out in batches no larger than the queue, each received by the fast client before the next.
        var padding = new string('x', 16 * 1024);
        var seq = 0;
        for (var batch = 0; batch < 60; batch++)
        {
            for (var i = 0; i < 25; i++)
            {
                await server.PublishAsync(Topics.Bars, HubTestEvents.Bar("EURUSD", batch * 25 + i, 1.1m, padding));
            }

            for (var i = 0; i < 25; i++)
            {
                Assert.Equal(++seq, (await fast.ReceiveAsync()).Seq());
            }
        }

        var slowClient = await Eventually(() => server.Hub.Clients.SingleOrDefault(c => c.Close is not null), TimeSpan.FromSeconds(15));
        Assert.Equal(HubCloseStatus.PolicyViolation, slowClient.Close!.Status);

        var (status, reason) = await slow.ReceiveCloseAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Contains("slow client", reason, StringComparison.Ordinal);
        await fast.SendAsync("""{"type":"ping"}""");
        Assert.Equal("pong", (await fast.ReceiveAsync()).Type());
    }

    [Fact]
    public async Task A_plain_request_to_ws_gets_a_problem()
    {
        await using var server = await HubServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };
        http.DefaultRequestHeaders.Add("X-API-Key", server.ReaderKey);

        var response = await http.GetAsync(new Uri("/ws?since=x", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Without_a_key_the_socket_is_refused_and_a_browser_token_lets_it_in()
    {
        await using var server = await HubServer.StartAsync();
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => server.ConnectAsync(withKey: false));
        Assert.Contains("401", refused.Message, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = server.Address };
        http.DefaultRequestHeaders.Add("X-API-Key", server.ReaderKey);
        var issued = await http.PostAsync(new Uri("/api/v1/ws-tokens", UriKind.Relative), null);
        issued.EnsureSuccessStatusCode();
        using var body = System.Text.Json.JsonDocument.Parse(await issued.Content.ReadAsStringAsync());
        var token = body.RootElement.GetProperty("token").GetString()!;

        using var client = await server.ConnectAsync("token=" + Uri.EscapeDataString(token), withKey: false);
        await client.SendAsync("""{"type":"ping"}""");
        Assert.Equal("pong", (await client.ReceiveAsync()).Type());
    }

    [Fact]
    public async Task The_dashboard_is_served_from_the_assembly()
    {
        await using var server = await HubServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };

        var page = await http.GetAsync(new Uri("/", UriKind.Relative));
        var script = await http.GetAsync(new Uri("/dashboard/dashboard.js", UriKind.Relative));
        var missing = await http.GetAsync(new Uri("/dashboard/nothing.js", UriKind.Relative));

        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("/dashboard/dashboard.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    private static async Task<T> Eventually<T>(Func<T?> probe, TimeSpan timeout)
        where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"condition not met within {timeout}");
            await Task.Delay(50);
        }
    }
}
