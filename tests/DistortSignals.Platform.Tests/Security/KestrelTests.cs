using System.Net;
using System.Text;
using DistortSignals.Platform.Security;

namespace DistortSignals.Platform.Tests.Security;

/// <summary>The parts that depend on the server: Kestrel's own body limit and real remote addresses.</summary>
public sealed class KestrelTests : IAsyncLifetime
{
    private SecurityTestHost _host = null!;

    public async Task InitializeAsync() => _host = await SecurityTestHost.StartAsync(
        new Dictionary<string, string?> { ["Security:MaxRequestBodyBytes"] = "65536" },
        onKestrel: true);

    public Task DisposeAsync() => _host.DisposeAsync().AsTask();

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_a_413_problem_on_kestrel()
    {
        var ingest = await _host.CreateKeyAsync(Scopes.Ingest);
        var response = await _host.SendAsync(HttpMethod.Post, "/api/v1/ticks", ingest, new ChunkedJsonContent(100_000));

        await ProblemAssert.IsProblemAsync(response, 413, "The request body is larger than the limit of 65536 bytes.");
    }

    [Fact]
    public async Task A_body_within_the_configured_limit_passes_on_kestrel()
    {
        var ingest = await _host.CreateKeyAsync(Scopes.Ingest);
        var tick = """{"symbol":"EURUSD","time":"2026-11-20T10:00:00Z","bid":1.08,"ask":1.0802}""";

        var response = await _host.SendAsync(HttpMethod.Post, "/api/v1/ticks", ingest, new StringContent(tick, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
