using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace DistortSignals.Host.Tests.Run;

/// <summary>The ingest API through the composed platform: keys and scopes, per-item answers, repeats, late ticks, bars out.</summary>
public sealed class IngestApiTests(IngestApiTests.IngestPlatform platform) : IClassFixture<IngestApiTests.IngestPlatform>
{
    /// <summary>The platform with Resources/ingest: a symbol of its own for each test that stores ticks.</summary>
    public sealed class IngestPlatform : RunningPlatform
    {
        protected override string ResourcesFolder => Path.Combine(AppContext.BaseDirectory, "Resources", "ingest");
    }

    private static string Tick(string time, double bid, double ask, string symbol = "EURUSD", double volume = 1) =>
        $$"""{"symbol":"{{symbol}}","time":"{{time}}","bid":{{bid}},"ask":{{ask}},"volume":{{volume}}}""";

    private static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task Without_a_key_or_with_the_wrong_scope_ticks_are_refused_with_a_problem()
    {
        var body = "[" + Tick("2026-02-02T10:00:00Z", 1.1, 1.1002) + "]";

        var anonymous = await platform.PostAsync("/api/v1/ticks", body, key: null);
        var reader = await platform.PostAsync("/api/v1/ticks", body, platform.ReaderKey);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, reader.StatusCode);
        Assert.Contains("ingest", (await Json(reader)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_item_is_answered_and_a_repeated_batch_is_taken_once()
    {
        var body = string.Join('\n',
            Tick("2026-02-03T10:00:01Z", 1.1, 1.1002),
            Tick("2026-02-03T10:00:02Z", 1.2, 1.1),
            Tick("2026-02-03T10:00:03Z", 1.1, 1.1002, symbol: "AUDNZD"),
            """{"symbol":"EURUSD","time":"2026-02-03T10:00:04Z","bid":"1.1","ask":1.2}""",
            Tick("2026-02-03T10:00:05Z", 1.1001, 1.1003));

        var first = await Json(await platform.PostAsync("/api/v1/ticks", body, platform.IngestKey, "application/x-ndjson"));
        var second = await Json(await platform.PostAsync("/api/v1/ticks", body, platform.IngestKey, "application/x-ndjson"));

        Assert.Equal(5, first.GetProperty("received").GetInt32());
        Assert.Equal(2, first.GetProperty("accepted").GetInt32());
        var refused = first.GetProperty("refused").EnumerateArray().ToList();
        Assert.Equal([1, 2, 3], refused.Select(r => r.GetProperty("index").GetInt32()));
        Assert.Equal("bid", refused[0].GetProperty("errors")[0].GetProperty("field").GetString());
        Assert.Contains("'AUDNZD' is not traded here", refused[1].GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("must be a finite number", refused[2].GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);

        Assert.Equal(0, second.GetProperty("accepted").GetInt32());
        Assert.Equal([0, 4], second.GetProperty("duplicates").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(2, await CountAsync("SELECT count(*) FROM ingest.ticks WHERE time >= '2026-02-03T10:00:00Z' AND time < '2026-02-03T10:01:00Z'"));
    }

    [Fact]
    public async Task A_resent_batch_with_new_ticks_appended_stores_only_the_new_ones_even_at_the_time_of_the_latest_stored()
    {
        // USDJPY: no other test here sends it, so the times are free.
        var stored = new[]
        {
            Tick("2026-02-05T10:00:01Z", 150.1, 150.12, "USDJPY"), Tick("2026-02-05T10:00:02Z", 150.11, 150.13, "USDJPY"), Tick("2026-02-05T10:00:03Z", 150.12, 150.14, "USDJPY"),
        };
        await PostTicksAsync(stored);

        // The latest stored tick again, a tick at its very time with other prices (not a repeat), and a later one.
        var body = string.Join('\n', stored[1], stored[2], Tick("2026-02-05T10:00:03Z", 150.15, 150.17, "USDJPY"), Tick("2026-02-05T10:00:04Z", 150.13, 150.15, "USDJPY"));
        var answer = await Json(await platform.PostAsync("/api/v1/ticks", body, platform.IngestKey, "application/x-ndjson"));

        Assert.Equal([0, 1], answer.GetProperty("duplicates").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(2, answer.GetProperty("accepted").GetInt32());
        Assert.Equal(5, await CountAsync("SELECT count(*) FROM ingest.ticks WHERE symbol = 'USDJPY' AND time >= '2026-02-05T10:00:00Z' AND time < '2026-02-05T10:01:00Z'"));
    }

    [Fact]
    public async Task A_chunked_body_without_a_length_is_read_whole()
    {
        // 3,000 GBPUSD ticks (no other test here sends GBPUSD), about 250 KB: many times the first read buffer.
        var ticks = Enumerable.Range(0, 3000).Select(i => Tick($"2026-02-06T10:{i / 600:00}:{i / 10 % 60:00}.{i % 10}00Z", 1.25 + (i * 1e-6), 1.2502 + (i * 1e-6), "GBPUSD"));
        using var client = platform.Client(platform.IngestKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/v1/ticks", UriKind.Relative))
        {
            Content = new StringContent(string.Join('\n', ticks), Encoding.UTF8, "application/x-ndjson"),
        };
        request.Headers.TransferEncodingChunked = true;

        using var response = await client.SendAsync(request);
        var answer = await Json(response);

        Assert.True(response.IsSuccessStatusCode, answer.ToString());
        Assert.Equal((3000, 3000), (answer.GetProperty("received").GetInt32(), answer.GetProperty("accepted").GetInt32()));
        Assert.Equal(3000, await CountAsync("SELECT count(*) FROM ingest.ticks WHERE symbol = 'GBPUSD' AND time >= '2026-02-06T10:00:00Z' AND time < '2026-02-06T11:00:00Z'"));
    }

    [Fact]
    public async Task A_later_tick_closes_the_bar_and_a_tick_for_the_closed_bar_is_refused_as_late()
    {
        await PostTicksAsync(
            Tick("2026-02-04T09:00:05Z", 1.2000, 1.2002, "AUDUSD", 2),
            Tick("2026-02-04T09:00:20Z", 1.2010, 1.2012, "AUDUSD", 3),
            Tick("2026-02-04T09:00:40Z", 1.1990, 1.1992, "AUDUSD", 4),
            Tick("2026-02-04T09:00:59Z", 1.2005, 1.2007, "AUDUSD", 5),
            Tick("2026-02-04T09:01:00Z", 1.2006, 1.2008, "AUDUSD", 1));

        var lateResponse = await platform.PostAsync("/api/v1/ticks", "[" + Tick("2026-02-04T09:00:30Z", 1.3, 1.3002, "AUDUSD") + "]", platform.IngestKey);
        using var client = platform.Client(platform.ReaderKey);
        var bars = await Json(await client.GetAsync(new Uri("/api/v1/bars/AUDUSD?timeframe=M1&from=2026-02-04T09:00:00Z&to=2026-02-04T09:05:00Z", UriKind.Relative)));

        // Bars are built from the bid; the 09:01 tick closed the 09:00 bar.
        var bar = Assert.Single(bars.GetProperty("bars").EnumerateArray());
        Assert.Equal((1.2, 1.201, 1.199, 1.2005, 14.0, 4), (bar.GetProperty("open").GetDouble(), bar.GetProperty("high").GetDouble(),
            bar.GetProperty("low").GetDouble(), bar.GetProperty("close").GetDouble(), bar.GetProperty("volume").GetDouble(), bar.GetProperty("tickCount").GetInt32()));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, lateResponse.StatusCode);
        var late = await Json(lateResponse);
        Assert.Contains("item 0: time: 2026-02-04T09:00:30Z", late.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("closed", late.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_closed_bar_reaches_a_websocket_subscriber_through_the_outbox_and_the_hub()
    {
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("X-API-Key", platform.ReaderKey);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await socket.ConnectAsync(new UriBuilder(platform.Address) { Scheme = "ws", Path = "/ws" }.Uri, timeout.Token);
        await socket.SendAsync(Encoding.UTF8.GetBytes("""{"type":"subscribe","channels":["bars"]}"""), WebSocketMessageType.Text, true, timeout.Token);

        // Events before the subscription is confirmed are not sent to this client (it asked for no replay).
        while ((await ReceiveAsync(socket, timeout.Token)).GetProperty("type").GetString() != "subscribed")
        {
        }

        await PostTicksAsync(Tick("2026-02-05T12:00:10Z", 1.15, 1.1502, "USDCHF"), Tick("2026-02-05T12:01:10Z", 1.16, 1.1602, "USDCHF"));

        while (true)
        {
            var message = await ReceiveAsync(socket, timeout.Token);
            if (message.GetProperty("type").GetString() == "event"
                && message.GetProperty("event").GetProperty("data").GetProperty("symbol").GetString() == "USDCHF"
                && message.GetProperty("event").GetProperty("data").GetProperty("openTime").GetString() == "2026-02-05T12:00:00+00:00")
            {
                Assert.Equal("bars", message.GetProperty("channel").GetString());
                Assert.Equal("io.distortsignals.bar.closed.v1", message.GetProperty("event").GetProperty("type").GetString());
                Assert.Equal(1.15, message.GetProperty("event").GetProperty("data").GetProperty("close").GetDouble());
                break;
            }
        }
    }

    [Theory]
    [InlineData("[{\"symbol\":", HttpStatusCode.BadRequest, "not valid JSON")]
    [InlineData("", HttpStatusCode.BadRequest, "the body is empty")]
    public async Task A_body_that_cannot_be_read_is_refused_whole(string body, HttpStatusCode status, string detail)
    {
        var response = await platform.PostAsync("/api/v1/ticks", body, platform.IngestKey);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(detail, (await Json(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_oversized_body_is_refused_with_413_and_nothing_is_stored()
    {
        var before = await CountAsync("SELECT count(*) FROM ingest.ticks");
        var ticks = Enumerable.Range(0, 12_000).Select(i => Tick($"2026-03-01T00:{i / 600:00}:{i / 10 % 60:00}.{i % 10}00Z", 1.1, 1.1002));
        var response = await platform.PostAsync("/api/v1/ticks", "[" + string.Join(',', ticks) + "]", platform.IngestKey);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await CountAsync("SELECT count(*) FROM ingest.ticks"));
    }

    [Fact]
    public async Task Bar_history_refuses_a_bad_query_naming_the_parameter()
    {
        using var client = platform.Client(platform.ReaderKey);
        var response = await client.GetAsync(new Uri("/api/v1/bars/EURUSD?timeframe=H2", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("timeframe: 'H2'", (await Json(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private async Task PostTicksAsync(params string[] ticks)
    {
        var response = await platform.PostAsync("/api/v1/ticks", "[" + string.Join(',', ticks) + "]", platform.IngestKey);
        var answer = await Json(response);
        Assert.True(response.IsSuccessStatusCode, answer.ToString());
        Assert.Equal(ticks.Length, answer.GetProperty("accepted").GetInt32());
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<JsonElement> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, cancellationToken);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        return JsonDocument.Parse(message.ToArray()).RootElement;
    }
}
