using System.Net;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Gateway.Api;
using DistortSignals.Platform.Messaging;

namespace DistortSignals.Gateway.Tests;

/// <summary>The gateway's state lives in its tables: a host stopped between claim and report carries on after a restart.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task A_host_restarted_between_claim_and_report_keeps_the_claim_and_takes_the_report_once()
    {
        var first = await GatewayTestHost.StartAsync([("alpha", BrokerKind.MT5)], new Dictionary<string, string?> { ["Gateway:ClaimLease"] = "00:05:00" });
        await first.CreateAsync(GatewayTestHost.Directive("restart-1", "alpha"));
        using (var ea = first.Ea("alpha"))
        {
            Assert.Equal(HttpStatusCode.OK, (await ea.PostAsync("/ea/v1/directives/restart-1/claim", GatewayTestHost.Json(new ClaimRequest("t1")))).StatusCode);
        }

        await first.DisposeAsync();
        await using var second = await GatewayTestHost.StartAsync([("alpha", BrokerKind.MT5)], new Dictionary<string, string?> { ["Gateway:ClaimLease"] = "00:05:00" }, restartOf: first);
        Assert.Equal(DirectiveState.Claimed, await second.StateAsync("restart-1"));
        using var again = second.Ea("alpha");
        Assert.Equal(HttpStatusCode.Conflict, (await again.PostAsync("/ea/v1/directives/restart-1/claim", GatewayTestHost.Json(new ClaimRequest("t2")))).StatusCode);
        var report = new ReportRequest("r-restart-1", "filled", 5, 0.1, 1.1, 10009, null, null);
        Assert.Equal(HttpStatusCode.OK, (await again.PostAsync("/ea/v1/directives/restart-1/report", GatewayTestHost.Json(report))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await again.PostAsync("/ea/v1/directives/restart-1/report", GatewayTestHost.Json(report))).StatusCode);
        Assert.Equal(DirectiveState.Filled, await second.StateAsync("restart-1"));
        Assert.Single(await second.OutboxAsync(Topics.Events.ExecutionReported));
    }
}
