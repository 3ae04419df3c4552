using System.Net;
using DistortSignals.Platform.Security;

namespace DistortSignals.Platform.Tests.Security;

public sealed class RateLimitTests : IAsyncLifetime
{
    // A burst of 3 refilled once a minute, so the test cannot race the refill.
    private static readonly Dictionary<string, string?> Limits = new()
    {
        ["Security:RateLimit:Burst"] = "3",
        ["Security:RateLimit:TokensPerPeriod"] = "1",
        ["Security:RateLimit:ReplenishmentPeriod"] = "00:01:00",
        ["Security:AnonymousRateLimit:Burst"] = "2",
        ["Security:AnonymousRateLimit:TokensPerPeriod"] = "1",
        ["Security:AnonymousRateLimit:ReplenishmentPeriod"] = "00:01:00",
    };

    private SecurityTestHost _host = null!;

    public async Task InitializeAsync() => _host = await SecurityTestHost.StartAsync(Limits);

    public Task DisposeAsync() => _host.DisposeAsync().AsTask();

    [Fact]
    public async Task A_key_past_its_burst_gets_429_with_retry_after_while_other_keys_go_on()
    {
        var busy = await _host.Keys.CreateAsync(Scopes.Reader, "busy");
        var other = await _host.CreateKeyAsync(Scopes.Reader);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await _host.GetAsync("/api/v1/signals", busy.Secret)).StatusCode);
        }

        var limited = await _host.GetAsync("/api/v1/signals", busy.Secret);

        await ProblemAssert.IsProblemAsync(limited, 429, $"Too many requests from key {busy.KeyId}: at most 3 at once and 1 per 60 s; retry after");
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, 60);
        Assert.Equal(HttpStatusCode.OK, (await _host.GetAsync("/api/v1/signals", other)).StatusCode);
    }

    [Fact]
    public async Task Requests_without_a_key_are_limited_by_address()
    {
        await _host.GetAsync("/healthz", key: null);
        await _host.GetAsync("/healthz", key: null);

        var limited = await _host.GetAsync("/healthz", key: null);

        await ProblemAssert.IsProblemAsync(limited, 429, "Too many requests from address");
        Assert.NotNull(limited.Headers.RetryAfter?.Delta);
    }
}
