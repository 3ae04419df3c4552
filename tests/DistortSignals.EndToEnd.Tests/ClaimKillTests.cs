using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;

namespace DistortSignals.EndToEnd.Tests;

/// <summary>
/// An EA claims a directive and the host is killed (SIGKILL) before the report: after the restart the directive is
/// still the EA's, another terminal cannot take it, the report is taken once, and a repeat gets the same answer.
/// </summary>
public sealed class ClaimKillTests
{
    private const string EaKey = "ds_DEMOKEY-mt5-demo-PUBLIC-not-for-real-money0";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly DateTimeOffset MarketStart = new(2025, 5, 5, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_directive_claimed_before_a_kill_is_still_claimed_after_the_restart_and_its_report_counts_once()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var adminKey = ApiKeySecret.Generate();
        await using var platform = PlatformProcess.Create(await TestPostgres.CreateDatabaseAsync(), adminKey, Path.Combine(AppContext.BaseDirectory, "ClaimResources"));
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var admin = Client(platform, adminKey);
        using var ea = Client(platform, EaKey);
        platform.Start();
        await platform.WaitReadyAsync(probe, StartTimeout, deadline.Token);

        await PostTicksAsync(admin, minutes: 600, deadline.Token);
        string directiveId = "";
        await Eventually.UntilAsync("a directive waits for the EA", async () =>
        {
            using var poll = JsonDocument.Parse(await ea.GetStringAsync(new Uri("/ea/v1/directives?wait=0", UriKind.Relative), deadline.Token));
            directiveId = poll.RootElement.GetProperty("directives").EnumerateArray().Select(d => d.GetProperty("id").GetString()).FirstOrDefault() ?? "";
            return directiveId.Length > 0;
        }, TimeSpan.FromSeconds(60));
        using (var claim = await ea.PostAsJsonAsync($"/ea/v1/directives/{directiveId}/claim", new { terminalId = "terminal-1" }, deadline.Token))
        {
            Assert.Equal(HttpStatusCode.OK, claim.StatusCode);
        }

        await platform.KillAsync();
        platform.Start();
        await platform.WaitReadyAsync(probe, StartTimeout, deadline.Token);

        Assert.Equal("Claimed", await StateAsync(admin, directiveId, deadline.Token));
        using (var stolen = await ea.PostAsJsonAsync($"/ea/v1/directives/{directiveId}/claim", new { terminalId = "terminal-2" }, deadline.Token))
        {
            Assert.Equal(HttpStatusCode.Conflict, stolen.StatusCode);
        }

        var report = new { reportId = "report-1", outcome = "filled", ticket = 77001, filledVolume = 0.01, price = 1.0851, retcode = 10009, message = "done", executedAt = DateTimeOffset.UtcNow };
        using var first = await ea.PostAsJsonAsync($"/ea/v1/directives/{directiveId}/report", report, deadline.Token);
        using var repeat = await ea.PostAsJsonAsync($"/ea/v1/directives/{directiveId}/report", report, deadline.Token);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(deadline.Token), await repeat.Content.ReadAsStringAsync(deadline.Token));
        Assert.Equal("Filled", await StateAsync(admin, directiveId, deadline.Token));
    }

    private static HttpClient Client(PlatformProcess platform, string key)
    {
        var client = new HttpClient { BaseAddress = platform.Address, Timeout = TimeSpan.FromSeconds(15) };
        client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, key);
        return client;
    }

    private static async Task<string?> StateAsync(HttpClient admin, string directiveId, CancellationToken cancellationToken)
    {
        using var directives = JsonDocument.Parse(await admin.GetStringAsync(new Uri("/api/v1/directives?account=mt5-kill&limit=1000", UriKind.Relative), cancellationToken));
        return directives.RootElement.GetProperty("directives").EnumerateArray()
            .Single(d => d.GetProperty("directive").GetProperty("id").GetString() == directiveId).GetProperty("state").GetString();
    }

    private static async Task PostTicksAsync(HttpClient client, int minutes, CancellationToken cancellationToken)
    {
        foreach (var batch in MinuteTicks.NdjsonBatches(MarketStart, minutes, seed: 5, "claim"))
        {
            using var response = await client.PostAsync(new Uri("/api/v1/ticks", UriKind.Relative), new StringContent(batch, Encoding.UTF8, "application/x-ndjson"), cancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }
}
