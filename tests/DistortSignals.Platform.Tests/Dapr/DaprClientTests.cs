using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using DistortSignals.Platform.Dapr;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.State;
using DistortSignals.Testing;
using DistortSignals.Testing.Dapr;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace DistortSignals.Platform.Tests.Dapr;

/// <summary>The sidecar client against the fake sidecar: the wire details the reference's pitfalls are about.</summary>
public sealed class DaprClientTests : IAsyncLifetime
{
    private FakeDaprSidecar _sidecar = null!;

    public async Task InitializeAsync() => _sidecar = await FakeDaprSidecar.StartAsync(new FakeDaprSidecarOptions { ApiToken = "sidecar-secret" });

    public async Task DisposeAsync() => await _sidecar.DisposeAsync();

    [Fact]
    public async Task The_first_call_waits_for_the_outbound_health_and_never_asks_the_app_health()
    {
        _sidecar.OutboundReady = false;
        using var client = Client();

        var save = client.SaveStateAsync("statestore", "k", 1, CancellationToken.None);
        await Eventually.UntilAsync("the client polled the outbound health", () => _sidecar.Requests.Any(r => r.Path == "/v1.0/healthz/outbound"));
        Assert.False(save.IsCompleted);
        _sidecar.OutboundReady = true;
        await save;

        Assert.DoesNotContain(_sidecar.Requests, r => r.Path == "/v1.0/healthz");
        Assert.Equal(1, (await client.GetStateAndETagAsync<int>("statestore", "k", CancellationToken.None)).Value);
    }

    [Fact]
    public async Task Waiting_for_an_absent_sidecar_gives_up_with_the_endpoint()
    {
        _sidecar.OutboundReady = false;
        using var client = Client(o => o.SidecarWaitTimeout = TimeSpan.FromMilliseconds(300));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => client.SaveStateAsync("statestore", "k", 1, CancellationToken.None));
        Assert.Contains(_sidecar.Url.ToString().TrimEnd('/'), error.Message);
        Assert.Contains("/v1.0/healthz/outbound", error.Message);
    }

    [Fact]
    public async Task Every_call_carries_the_api_token_and_a_wrong_token_is_refused()
    {
        using var client = Client();
        await client.SaveStateAsync("statestore", "k", 1, CancellationToken.None);
        Assert.All(_sidecar.Requests.Where(r => r.Path.StartsWith("/v1.0/state", StringComparison.Ordinal)), r => Assert.Equal("sidecar-secret", r.ApiToken));

        using var wrong = Client(o => o.ApiToken = "guess");
        var error = await Assert.ThrowsAsync<DaprApiException>(() => wrong.SaveStateAsync("statestore", "k", 2, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }

    [Fact]
    public async Task A_published_event_keeps_our_envelope_and_id_and_names_its_partition_key()
    {
        using var client = Client();
        var fill = CloudEvent.Create("fill-7", "gateway", Topics.Events.ExecutionReported, "acct-1", DateTimeOffset.UnixEpoch, new { qty = 2 });

        await new DaprEventPublisher(client, Options()).PublishEventAsync(Topics.Executions, fill, CancellationToken.None);

        var (topic, envelope, key) = Assert.Single(_sidecar.Published);
        Assert.Equal(Topics.Executions, topic);
        Assert.Equal("acct-1", key);
        Assert.Equal("fill-7", (string?)envelope["id"]);
        Assert.Equal("io.distortsignals.execution.reported.v1", (string?)envelope["type"]);
        Assert.Equal("gateway", (string?)envelope["source"]);
        // Parsed as an object, not a string: the Content-Type was set (pitfall 1).
        Assert.Equal(2, (int?)envelope["data"]!["qty"]);
    }

    [Fact]
    public async Task A_bulk_publish_sends_every_envelope_with_its_partition_key()
    {
        using var client = Client();
        CloudEvent[] fills = [CloudEvent.Create("a", "gateway", "x", "acct-1", DateTimeOffset.UnixEpoch, 1), CloudEvent.Create("b", "gateway", "x", "acct-2", DateTimeOffset.UnixEpoch, 2)];

        var response = await client.BulkPublishEventAsync("pubsub", "executions", fills, DaprEventPublisher.Metadata, CancellationToken.None);

        Assert.Empty(response.FailedEntries);
        Assert.Equal([("a", "acct-1"), ("b", "acct-2")], _sidecar.Published.Select(p => ((string)p.Envelope["id"]!, p.PartitionKey)));
    }

    [Fact]
    public async Task Publishing_to_an_unknown_pubsub_names_the_sidecar_error()
    {
        using var client = Client();

        var error = await Assert.ThrowsAsync<DaprApiException>(() =>
            client.PublishEventAsync("nosuch", "bars", CloudEvent.Create("a", "s", "x", "k", DateTimeOffset.UnixEpoch, 1), null, CancellationToken.None));

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
        Assert.Equal("ERR_PUBSUB_NOT_FOUND", error.ErrorCode);
    }

    [Fact]
    public async Task Etags_are_read_and_sent_unquoted_and_a_mismatch_is_false_not_an_error()
    {
        using var client = Client();
        await client.SaveStateAsync("statestore", "k", "x", CancellationToken.None);
        var (value, etag) = await client.GetStateAndETagAsync<string>("statestore", "k", CancellationToken.None);

        Assert.Equal("x", value);
        Assert.True(Guid.TryParse(etag, out _), $"the ETag {etag} is the store's raw UUID");
        Assert.True(await client.TrySaveStateAsync("statestore", "k", "y", etag, CancellationToken.None));
        Assert.False(await client.TrySaveStateAsync("statestore", "k", "z", etag, CancellationToken.None));
        Assert.False(await client.TryDeleteStateAsync("statestore", "k", etag!, CancellationToken.None));
        Assert.Equal("y", (await client.GetStateAndETagAsync<string>("statestore", "k", CancellationToken.None)).Value);
    }

    [Fact]
    public async Task Safe_calls_are_retried_through_passing_failures_and_conditional_ones_are_not()
    {
        var measured = new System.Collections.Concurrent.ConcurrentQueue<(string Instrument, string? Operation, string? Outcome)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DaprMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            var all = tags.ToArray();
            measured.Enqueue((instrument.Name, all.FirstOrDefault(t => t.Key == "operation").Value as string, all.FirstOrDefault(t => t.Key == "outcome").Value as string));
        });
        listener.Start();
        using var client = Client();
        await client.SaveStateAsync("statestore", "k", 1, CancellationToken.None);
        var (_, etag) = await client.GetStateAndETagAsync<int>("statestore", "k", CancellationToken.None);

        _sidecar.InjectFaults(2);
        Assert.Equal(1, (await client.GetStateAndETagAsync<int>("statestore", "k", CancellationToken.None)).Value);

        _sidecar.InjectFaults(1);
        var error = await Assert.ThrowsAsync<DaprApiException>(() => client.TrySaveStateAsync("statestore", "k", 2, etag, CancellationToken.None));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.True(await client.TrySaveStateAsync("statestore", "k", 2, etag, CancellationToken.None));
        Assert.True(measured.Count(m => m == ("dapr.sidecar.retries", "state.get", null)) >= 2);
        Assert.Contains(("dapr.sidecar.calls", "state.save", "503"), measured);
    }

    [Fact]
    public async Task The_circuit_opens_when_the_sidecar_keeps_failing()
    {
        using var client = Client(o =>
        {
            o.MaxRetries = 1;
            o.BreakerMinimumThroughput = 4;
            o.BreakerBreakDuration = TimeSpan.FromMinutes(1);
        });
        await client.SaveStateAsync("statestore", "k", 1, CancellationToken.None);

        _sidecar.InjectFaults(1000);
        Exception? last = null;
        for (var i = 0; i < 5 && last is not BrokenCircuitException; i++)
        {
            last = await Record.ExceptionAsync(() => client.GetStateAndETagAsync<int>("statestore", "k", CancellationToken.None));
        }

        Assert.IsType<BrokenCircuitException>(last);
        var before = _sidecar.Requests.Count;
        await Assert.ThrowsAsync<BrokenCircuitException>(() => client.GetStateAndETagAsync<int>("statestore", "k", CancellationToken.None));
        Assert.Equal(before, _sidecar.Requests.Count);
    }

    [Fact]
    public async Task A_failed_transaction_with_an_etag_is_a_concurrency_conflict()
    {
        using var client = Client();
        await client.SaveStateAsync("statestore", "k", 1, CancellationToken.None);

        var conflict = await Assert.ThrowsAsync<StateConcurrencyException>(() => client.ExecuteStateTransactionAsync("statestore",
            [new StateTransactionRequest("k", "2", StateOperationType.Upsert, Guid.NewGuid().ToString())], CancellationToken.None));
        Assert.Equal("k", conflict.Key);

        var unknown = await Assert.ThrowsAsync<DaprApiException>(() => client.ExecuteStateTransactionAsync("nosuch",
            [new StateTransactionRequest("k", "2", StateOperationType.Upsert)], CancellationToken.None));
        Assert.Equal("ERR_STATE_STORE_NOT_FOUND", unknown.ErrorCode);
    }

    [Fact]
    public async Task Bulk_get_returns_every_key_asked_in_order()
    {
        using var client = Client();
        await client.SaveStateAsync("statestore", "a", new { n = 1 }, CancellationToken.None);

        var items = await client.GetBulkStateAsync("statestore", ["missing", "a"], 4, CancellationToken.None);

        Assert.Equal(["missing", "a"], items.Select(i => i.Key));
        Assert.Null(items[0].Value);
        Assert.Equal(1, JsonDocument.Parse(items[1].Value!).RootElement.GetProperty("n").GetInt32());
        Assert.NotNull(items[1].ETag);
    }

    private static IOptions<DaprPlatformOptions> Options(Action<DaprPlatformOptions>? configure = null)
    {
        var options = new DaprPlatformOptions { SidecarPollInterval = TimeSpan.FromMilliseconds(20), RetryBaseDelay = TimeSpan.FromMilliseconds(5) };
        configure?.Invoke(options);
        return Microsoft.Extensions.Options.Options.Create(options);
    }

    private DaprClient Client(Action<DaprPlatformOptions>? configure = null) =>
        new(Options(o =>
        {
            o.HttpEndpoint = _sidecar.Url;
            o.ApiToken = "sidecar-secret";
            configure?.Invoke(o);
        }), new DaprMetrics(), NullLogger<DaprClient>.Instance);
}
