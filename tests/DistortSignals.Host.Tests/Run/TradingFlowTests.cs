using System.Net;
using System.Text.Json;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DistortSignals.Host.Tests.Run;

/// <summary>
/// Issue 4's flow through the composed host over real HTTP: ticks become bars and signals, risk decides for the
/// paper account the strategy names, the gateway holds the directives, the in-host paper terminal claims and fills
/// them through the EA API, and the risk role books the fills (Resources/trading/trading.yaml).
/// </summary>
public sealed class TradingFlowTests(TradingFlowTests.TradingPlatform platform) : IClassFixture<TradingFlowTests.TradingPlatform>
{
    private const string Account = "paper-flow";

    public sealed class TradingPlatform : RunningPlatform
    {
        protected override string ResourcesFolder => TradingResources.Folder;
    }

    [Fact]
    public async Task Signals_become_decisions_and_directives_that_the_paper_terminal_fills_and_risk_books()
    {
        await PostMinutesOfTicksAsync(minutes: 600);

        // Each answer to the ticks means the bars they closed are stored with their bar.closed events. Once nothing
        // is in flight, every signal has been decided and every directive created; from there the paper terminal's
        // fills are booked but cause no new directive, so the last fill found below is the last there will be.
        await PlatformBacklog.WaitUntilEmptyAsync(platform.Services.GetRequiredService<NpgsqlDataSource>(), TimeSpan.FromSeconds(90));
        JsonElement[] settled = [];
        await Eventually.UntilAsync("the paper terminal filled directives and none is left pending or claimed", async () =>
        {
            settled = await DirectivesAsync(Account);
            return settled.Count(d => d.GetProperty("state").GetString() == "Filled") >= 2
                && settled.All(d => d.GetProperty("state").GetString() is not ("Pending" or "Claimed"));
        }, TimeSpan.FromSeconds(90));

        var signals = (await GetAsync("/api/v1/signals?strategy=flow-m1&limit=1000")).GetProperty("signals").EnumerateArray()
            .Select(s => s.GetProperty("id").GetString()).ToHashSet();
        var decisions = (await GetAsync($"/api/v1/decisions?account={Account}&limit=1000")).GetProperty("decisions").EnumerateArray()
            .GroupBy(d => d.GetProperty("signalId").GetString()!)
            .ToDictionary(g => g.Key, g => g.Single());
        var filled = settled.Where(d => d.GetProperty("state").GetString() == "Filled").OrderBy(d => d.GetProperty("updatedAt").GetDateTimeOffset()).ToList();
        foreach (var stored in filled)
        {
            var directive = stored.GetProperty("directive");
            var signalId = directive.GetProperty("signalId").GetString()!;
            Assert.Contains(signalId, signals);
            Assert.True(decisions.TryGetValue(signalId, out var decision), $"no decision for signal {signalId}");
            Assert.NotEqual("Block", decision.GetProperty("verdict").GetString());
            if (directive.GetProperty("action").GetString() == "OPEN")
            {
                Assert.Equal(decision.GetProperty("lots").GetDouble(), directive.GetProperty("volume").GetDouble(), 8);
            }
        }

        // One symbol: after the fills in order, a position is open exactly when the last one opened it. This cannot
        // pass on a risk role that booked nothing: it emits a CLOSE only for a position it booked from an OPEN fill.
        var expectedOpen = filled[^1].GetProperty("directive").GetProperty("action").GetString() == "OPEN" ? 1 : 0;
        await Eventually.UntilAsync($"the risk role booked every fill ({expectedOpen} position open)", async () =>
            (await GetAsync($"/api/v1/accounts/{Account}")).GetProperty("openPositions").GetInt32() == expectedOpen,
            TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_breaker_trip_cancels_the_accounts_pending_directives_only_and_a_token_resets_it_once()
    {
        await PostMinutesOfTicksAsync(minutes: 600);
        await Eventually.UntilAsync("the MT5 account has pending directives", async () =>
            (await DirectivesAsync("mt5-flow")).Any(d => d.GetProperty("state").GetString() == "Pending"), TimeSpan.FromSeconds(60));
        var admin = (await platform.Services.GetRequiredService<ApiKeyStore>().CreateAsync(Scopes.Admin, "flow test")).Secret;

        using var trip = await platform.PostAsync("/api/v1/accounts/mt5-flow/breaker/trip", """{"reason":"flow test"}""", admin);

        Assert.Equal(HttpStatusCode.OK, trip.StatusCode);
        await Eventually.UntilAsync("the gateway cancelled every pending directive of the account", async () =>
        {
            var directives = await DirectivesAsync("mt5-flow");
            return directives.Any(d => d.GetProperty("state").GetString() == "Cancelled")
                && directives.All(d => d.GetProperty("state").GetString() != "Pending");
        }, TimeSpan.FromSeconds(30));
        var account = await GetAsync("/api/v1/accounts/mt5-flow");
        Assert.Equal(("Open", "Manual"), (account.GetProperty("breaker").GetString(), account.GetProperty("breakerReason").GetString()));
        Assert.Equal("Closed", (await GetAsync($"/api/v1/accounts/{Account}")).GetProperty("breaker").GetString());

        using var reset = await platform.PostAsync("/api/v1/accounts/mt5-flow/breaker/reset", """{"token":"flow-reset-1","reason":"done"}""", admin);
        using var again = await platform.PostAsync("/api/v1/accounts/mt5-flow/breaker/reset", """{"token":"flow-reset-1","reason":"done"}""", admin);

        Assert.True(JsonDocument.Parse(await reset.Content.ReadAsStringAsync()).RootElement.GetProperty("applied").GetBoolean());
        Assert.False(JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement.GetProperty("applied").GetBoolean());
        Assert.Equal("Closed", (await GetAsync("/api/v1/accounts/mt5-flow")).GetProperty("breaker").GetString());
    }

    [Fact]
    public async Task A_reader_key_cannot_poll_for_directives()
    {
        using var reader = platform.Client(platform.ReaderKey);

        using var poll = await reader.GetAsync(new Uri("/ea/v1/directives?wait=0", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Forbidden, poll.StatusCode);
        Assert.Equal("application/problem+json", poll.Content.Headers.ContentType?.MediaType);
    }

    private async Task PostMinutesOfTicksAsync(int minutes)
    {
        foreach (var batch in TradingResources.TickBatches(minutes))
        {
            using var response = await platform.PostAsync("/api/v1/ticks", batch, platform.IngestKey, "application/x-ndjson");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    private async Task<JsonElement[]> DirectivesAsync(string account) =>
        [.. (await GetAsync($"/api/v1/directives?account={account}&limit=1000")).GetProperty("directives").EnumerateArray()];

    private Task<JsonElement> GetAsync(string path) => platform.GetJsonAsync(path);
}
