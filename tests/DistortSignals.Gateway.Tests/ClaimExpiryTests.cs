using System.Net;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Gateway.Api;
using DistortSignals.Platform.Messaging;

namespace DistortSignals.Gateway.Tests;

/// <summary>A claim finds what is due before the sweeper does (here the sweeper waits an hour): it expires it and refuses.</summary>
public sealed class ClaimExpiryTests
{
    [Fact]
    public async Task A_claim_expires_a_directive_past_its_time_or_a_lapsed_lease_and_is_refused()
    {
        await using var host = await GatewayTestHost.StartAsync([("alpha", BrokerKind.MT5)],
            new Dictionary<string, string?> { ["Gateway:SweepInterval"] = "01:00:00", ["Gateway:ClaimLease"] = "00:00:01" });
        await host.CreateAsync(GatewayTestHost.Directive("late-1", "alpha", ttl: TimeSpan.FromMilliseconds(500)));
        await host.CreateAsync(GatewayTestHost.Directive("lapse-1", "alpha"));
        using var ea = host.Ea("alpha");
        Assert.Equal(HttpStatusCode.OK, (await ea.PostAsync("/ea/v1/directives/lapse-1/claim", GatewayTestHost.Json(new ClaimRequest("t1")))).StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(1.2));

        Assert.Equal(HttpStatusCode.Conflict, (await ea.PostAsync("/ea/v1/directives/late-1/claim", GatewayTestHost.Json(new ClaimRequest("t1")))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await ea.PostAsync("/ea/v1/directives/lapse-1/claim", GatewayTestHost.Json(new ClaimRequest("t1")))).StatusCode);
        Assert.Equal(DirectiveState.Expired, await host.StateAsync("late-1"));
        Assert.Equal(DirectiveState.Expired, await host.StateAsync("lapse-1"));
        var updates = (await host.OutboxAsync(Topics.Events.DirectiveUpdated)).Select(e => e.Id).ToList();
        Assert.Contains("late-1-expired", updates);
        Assert.Contains("lapse-1-expired", updates);
    }
}
