using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;

namespace DistortSignals.Signals.Tests;

/// <summary>GET /api/v1/signals and /api/v1/strategies behind the security layer, over signals the module stored.</summary>
public sealed class SignalsEndpointsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);

    private readonly List<Signal> _expected = [];
    private SignalsTestHost _host = null!;
    private string _readerKey = null!;

    public async Task InitializeAsync()
    {
        var buy = Strategies.Named("trend-up", 1, 0, 0);
        var sell = Strategies.Named("trend-down", 1, 0, 0, symbol: "DOWN");
        var up = new SeriesBuilder("TEST", start: Start).Range(60).Trend(80, 0.3).Bars;
        var down = new SeriesBuilder("DOWN", start: Start.AddHours(10)).Range(60).Trend(80, -0.3).Bars;
        _expected.AddRange(Strategies.Expected(buy, up));
        _expected.AddRange(Strategies.Expected(sell, down));
        Assert.Equal(2, _expected.Count);

        // "Today" is the day of the sell signal, the later one.
        var now = Timeframe.D1.Floor(_expected[1].Time).AddHours(23);
        _host = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(buy, sell), start: true, clock: new FixedClock(now));
        await _host.DeliverAllAsync(up);
        await _host.DeliverAllAsync(down);
        _readerKey = (await _host.Get<ApiKeyStore>().CreateAsync(Scopes.Reader, "test reader")).Secret;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("/api/v1/signals")]
    [InlineData("/api/v1/strategies")]
    public async Task Without_a_key_the_answer_is_401(string path)
    {
        var response = await GetAsync(path, key: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Signals_come_newest_first_with_enums_by_name()
    {
        var response = await GetAsync("/api/v1/signals", _readerKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var signals = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("signals");
        Assert.Equal([_expected[1], _expected[0]], signals.Deserialize<List<Signal>>(PlatformJson.Options));
        var first = signals[0];
        Assert.Equal("Sell", first.GetProperty("direction").GetString());
        Assert.Equal("H1", first.GetProperty("timeframe").GetString());
    }

    [Fact]
    public async Task Signals_filter_by_strategy_symbol_time_and_limit()
    {
        var (buy, sell) = (_expected[0], _expected[1]);

        Assert.Equal([buy], await SignalsOf(await GetAsync("/api/v1/signals?strategy=trend-up", _readerKey)));
        Assert.Equal([sell], await SignalsOf(await GetAsync("/api/v1/signals?symbol=DOWN", _readerKey)));
        Assert.Equal([sell], await SignalsOf(await GetAsync("/api/v1/signals?limit=1", _readerKey)));
        Assert.Equal([buy], await SignalsOf(await GetAsync($"/api/v1/signals?from={Uri.EscapeDataString(buy.Time.ToString("O"))}&to={Uri.EscapeDataString(sell.Time.ToString("O"))}", _readerKey)));
        Assert.Empty(await SignalsOf(await GetAsync("/api/v1/signals?strategy=unknown", _readerKey)));
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("from=yesterday", "from")]
    [InlineData("to=2026-13-01", "to")]
    [InlineData("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from")]
    public async Task A_bad_parameter_is_a_400_problem_that_names_it(string query, string parameter)
    {
        var response = await GetAsync("/api/v1/signals?" + query, _readerKey);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.StartsWith(parameter + ": ", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _));
    }

    [Fact]
    public async Task Strategies_list_each_loaded_strategy_with_its_spec_and_activity()
    {
        var response = await GetAsync("/api/v1/strategies", _readerKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var strategies = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("strategies").EnumerateArray().ToList();
        Assert.Equal(["trend-up", "trend-down"], strategies.Select(s => s.GetProperty("name").GetString()));
        var (up, down) = (strategies[0], strategies[1]);
        Assert.Equal("H1", up.GetProperty("spec").GetProperty("timeframe").GetString());
        Assert.Equal(["TEST"], up.GetProperty("spec").GetProperty("symbols").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(1, up.GetProperty("spec").GetProperty("weights").GetProperty("momentum").GetDouble());
        Assert.Equal(_expected[0].Time, up.GetProperty("lastSignal").GetDateTimeOffset());
        Assert.Equal(_expected[1].Time, down.GetProperty("lastSignal").GetDateTimeOffset());
        Assert.Equal((0, 1), (up.GetProperty("signalsToday").GetInt32(), down.GetProperty("signalsToday").GetInt32()));
    }

    private Task<HttpResponseMessage> GetAsync(string path, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null)
        {
            request.Headers.Add(ApiKeyAuthenticationHandler.HeaderName, key);
        }

        return _host.Client.SendAsync(request);
    }

    private static async Task<List<Signal>> SignalsOf(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. body.GetProperty("signals").Deserialize<List<Signal>>(PlatformJson.Options)!];
    }
}
