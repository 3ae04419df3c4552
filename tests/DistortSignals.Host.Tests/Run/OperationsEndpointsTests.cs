using System.Net;
using System.Text.RegularExpressions;
using DistortSignals.Testing;

namespace DistortSignals.Host.Tests.Run;

public sealed class OperationsEndpointsTests(RunningPlatform platform) : IClassFixture<RunningPlatform>
{
    [Fact]
    public async Task Health_readiness_and_metrics_need_no_key()
    {
        using var client = platform.Client(key: null);

        var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        await platform.PostAsync("/api/v1/ticks", """[{"symbol":"EURUSD","time":"2026-04-01T00:00:01Z","last":1.1}]""", platform.IngestKey);
        var metrics = await client.GetAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("text/plain", metrics.Content.Headers.ContentType?.MediaType);
        var text = await metrics.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE ingest_ticks_accepted counter", text, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^ingest_ticks_accepted_total [1-9]", text);
    }

    [Fact]
    public async Task The_dispatchers_deliveries_are_counted_at_metrics()
    {
        // Polled with a key, whose rate limit the fixture raises: the anonymous one would answer 429, here and in the other tests.
        using var client = platform.Client(platform.ReaderKey);

        // Two GBPUSD ticks a minute apart: the second closes the first's M1 bar, whose event every consuming role takes.
        var posted = await platform.PostAsync(
            "/api/v1/ticks",
            """[{"symbol":"GBPUSD","time":"2026-04-01T00:00:01Z","last":1.25},{"symbol":"GBPUSD","time":"2026-04-01T00:01:01Z","last":1.26}]""",
            platform.IngestKey);

        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        await Eventually.UntilAsync("the bar's deliveries are counted", async () => Regex.IsMatch(
            await client.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
            @"(?m)^platform_deliveries_total\{(?=[^}]*topic=""bars"")(?=[^}]*outcome=""success"")(?=[^}]*consumer=""[a-z]+"")[^}]*\} [1-9]"));
    }

    [Fact]
    public async Task Every_other_endpoint_needs_a_key()
    {
        using var client = platform.Client(key: null);

        var bars = await client.GetAsync(new Uri("/api/v1/bars/EURUSD", UriKind.Relative));
        var tokens = await client.PostAsync(new Uri("/api/v1/ws-tokens", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.Unauthorized, bars.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, tokens.StatusCode);
    }
}
