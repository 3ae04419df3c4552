using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using DistortSignals.Host.Run;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;

namespace DistortSignals.Host.Tests.Run;

public sealed class TelemetryTests
{
    [Fact]
    public async Task Traces_and_metrics_reach_an_otlp_collector_over_http_with_the_role_as_service_name()
    {
        await using var collector = await FakeCollector.StartAsync();
        var otlp = OtlpSettings.From(name => name switch
        {
            OtlpSettings.EndpointVariable => collector.Address,
            OtlpSettings.ProtocolVariable => "http/protobuf",
            _ => null,
        });

        using (PlatformHost.StartTelemetry("signals", otlp))
        {
            using var source = new ActivitySource("DistortSignals.TelemetryTest");
            using var meter = new Meter("DistortSignals.TelemetryTest");
            using (source.StartActivity("bar.closed handled"))
            {
                meter.CreateCounter<long>("telemetry.test.events").Add(3);
            }
        }

        // Disposing the providers flushes them, so both exports have arrived once StartTelemetry's scope ends.
        Assert.Contains("distortsignals-signals", collector.Body("/v1/traces"), StringComparison.Ordinal);
        Assert.Contains("bar.closed handled", collector.Body("/v1/traces"), StringComparison.Ordinal);
        Assert.Contains("telemetry.test.events", collector.Body("/v1/metrics"), StringComparison.Ordinal);
        Assert.Contains("distortsignals-signals", collector.Body("/v1/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_an_endpoint_nothing_is_exported()
    {
        Assert.Null(OtlpSettings.From(_ => null));
        Assert.Null(PlatformHost.StartTelemetry("all", null));
    }

    [Theory]
    [InlineData("collector:4317", null, "OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' is not an http or https URL")]
    [InlineData("http://collector:4318", "http/json", "OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' is not one of grpc, http/protobuf")]
    public void A_bad_variable_is_named_with_its_value(string endpoint, string? protocol, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => OtlpSettings.From(name => name == OtlpSettings.EndpointVariable ? endpoint : protocol));

        Assert.Equal(expected, error.Message);
    }

    [Theory]
    [InlineData("http://collector:4318", "http/protobuf", "http://collector:4318/v1/traces")]
    [InlineData("http://collector:4318/", "http/protobuf", "http://collector:4318/v1/traces")]
    [InlineData("http://collector:4317", null, "http://collector:4317/")]
    public void Http_appends_the_signal_path_and_grpc_takes_the_endpoint_as_it_is(string endpoint, string? protocol, string traces)
    {
        var otlp = OtlpSettings.From(name => name == OtlpSettings.EndpointVariable ? endpoint : protocol)!;

        Assert.Equal(protocol is null ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf, otlp.Protocol);
        Assert.Equal(traces, otlp.For("traces").AbsoluteUri);
    }

    /// <summary>
    /// An OTLP/HTTP receiver on real Kestrel: it answers 200 to every POST and keeps the bodies by path. Protobuf
    /// stores strings as plain UTF-8, so names can be found in the bytes without decoding the messages.
    /// </summary>
    private sealed class FakeCollector : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentDictionary<string, ConcurrentBag<byte[]>> _bodies = new();

        private FakeCollector(WebApplication app) => _app = app;

        public string Address => _app.Urls.Single();

        public static async Task<FakeCollector> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var collector = new FakeCollector(app);
            app.MapPost("/{**path}", async (HttpRequest request) =>
            {
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body);
                collector._bodies.GetOrAdd(request.Path, _ => []).Add(body.ToArray());
                return Results.Ok();
            });
            await app.StartAsync();
            return collector;
        }

        public string Body(string path) =>
            _bodies.TryGetValue(path, out var bodies) ? string.Join("\n", bodies.Select(Encoding.UTF8.GetString)) : "";

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
