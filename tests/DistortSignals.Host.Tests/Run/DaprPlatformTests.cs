using System.Net;
using System.Net.Http.Headers;
using System.Text;
using DistortSignals.Host.Run;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;

namespace DistortSignals.Host.Tests.Run;

/// <summary>`distortsignals run --platform dapr` next to a (fake) sidecar, and the flows that run the same on both platforms.</summary>
public sealed class DaprPlatformTests
{
    [Fact]
    public async Task On_dapr_the_sidecar_reads_the_modules_subscriptions_once_without_an_api_key()
    {
        await using var host = await HostOnPlatform.StartAsync(PlatformHost.DaprPlatform);

        Assert.Equal(1, host.Sidecar!.SubscribeReads);
        Assert.Contains(host.Sidecar.Subscriptions, s => (string?)s["topic"] == "bars" && (string?)s["route"] == "/dapr/events/bars");
        Assert.Contains(host.Sidecar.Subscriptions, s => (string?)s["topic"] == "signals");
    }

    [Fact]
    public async Task On_dapr_readiness_includes_the_sidecar_and_the_accounts_reaching_the_actors()
    {
        await using var host = await HostOnPlatform.StartAsync(PlatformHost.DaprPlatform);
        using var client = new HttpClient { BaseAddress = host.Address };

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);

        host.Sidecar!.OutboundReady = false;
        using var notReady = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("Dapr sidecar", await notReady.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(HostOnPlatform.Platforms), MemberType = typeof(HostOnPlatform))]
    public async Task A_closed_bar_goes_from_ingest_to_the_signals_role_once(string platform)
    {
        await using var host = await HostOnPlatform.StartAsync(platform);
        using var client = await host.ClientAsync(Scopes.Ingest);
        var ticks = """
            [{"symbol":"EURUSD","time":"2026-02-05T12:00:10Z","bid":1.15,"ask":1.1502,"volume":1},
             {"symbol":"EURUSD","time":"2026-02-05T12:01:10Z","bid":1.16,"ask":1.1602,"volume":1}]
            """;

        using var response = await client.PostAsync(new Uri("/api/v1/ticks", UriKind.Relative), new StringContent(ticks, Encoding.UTF8, new MediaTypeHeaderValue("application/json")));

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        await Eventually.UntilAsync("the signals role handled every closed bar the ingest role published", async () =>
        {
            var published = await host.CountAsync("SELECT count(*) FROM ingest.outbox WHERE topic = 'bars' AND sent_at IS NOT NULL");
            return published > 0
                && await host.CountAsync("SELECT count(*) FROM ingest.outbox WHERE sent_at IS NULL") == 0
                && await host.CountAsync("SELECT count(*) FROM signals.handled_events WHERE topic = 'bars'") == published;
        });
        if (host.Sidecar is { } sidecar)
        {
            Assert.Contains(sidecar.Published, p => p.Topic == "bars" && p.PartitionKey == "EURUSD" && (string?)p.Envelope["type"] == "io.distortsignals.bar.closed.v1");
        }
    }

    [Theory]
    [MemberData(nameof(HostOnPlatform.Platforms), MemberType = typeof(HostOnPlatform))]
    public async Task Signals_become_decisions_and_directives_on_both_platforms(string platform)
    {
        await using var host = await HostOnPlatform.StartAsync(platform, TradingResources.Folder);
        using var client = await host.ClientAsync(Scopes.Ingest);

        foreach (var batch in TradingResources.TickBatches(300))
        {
            using var response = await client.PostAsync(new Uri("/api/v1/ticks", UriKind.Relative), new StringContent(batch, Encoding.UTF8, new MediaTypeHeaderValue("application/x-ndjson")));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        // The paper account's directive is awaited too: the accounts are decided independently, so the other account's
        // decisions alone can satisfy the rest while the paper account's are still on their way.
        await Eventually.UntilAsync("the gateway holds a directive for every allowed decision on a stored signal, the paper account's among them", async () =>
        {
            var allowed = await host.CountAsync("SELECT count(*) FROM risk.decisions WHERE verdict <> 'Block' AND directive_id IS NOT NULL");
            return allowed > 0
                && await host.CountAsync("SELECT count(*) FROM gateway.directives WHERE account = 'paper-flow'") > 0
                && await host.CountAsync("SELECT count(*) FROM risk.decisions d JOIN signals.signals s ON s.id = d.signal_id") == await host.CountAsync("SELECT count(*) FROM risk.decisions")
                && await host.CountAsync("SELECT count(*) FROM risk.decisions d JOIN gateway.directives g ON g.id = d.directive_id") == allowed;
        }, TimeSpan.FromSeconds(60));
        Assert.Equal(0, await host.CountAsync("SELECT count(*) FROM (SELECT id FROM gateway.directives GROUP BY id HAVING count(*) > 1) AS twice"));
        if (host.Sidecar is { } sidecar)
        {
            Assert.Contains(sidecar.Published, p => p.Topic == "directives" && p.PartitionKey == "paper-flow" && (string?)p.Envelope["type"] == "io.distortsignals.directive.created.v1");
        }
    }

    [Fact]
    public async Task The_sidecars_calls_are_not_held_to_the_anonymous_rate_limit_that_probes_from_its_address_use_up()
    {
        // Refilled once a minute, so that the probes use it up however slowly this machine sends them.
        await using var host = await HostOnPlatform.StartAsync(PlatformHost.DaprPlatform, settings: new Dictionary<string, string?>
        {
            ["Security:AnonymousRateLimit:ReplenishmentPeriod"] = "00:01:00",
        });
        using var client = new HttpClient { BaseAddress = host.Address };

        var probes = new List<HttpStatusCode>();
        var configs = new List<HttpStatusCode>();
        for (var i = 0; i < 60; i++)
        {
            using var probe = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
            probes.Add(probe.StatusCode);
            using var config = await client.GetAsync(new Uri("/dapr/config", UriKind.Relative));
            configs.Add(config.StatusCode);
        }

        Assert.Contains(HttpStatusCode.TooManyRequests, probes);
        Assert.All(configs, status => Assert.Equal(HttpStatusCode.OK, status));
    }
}
