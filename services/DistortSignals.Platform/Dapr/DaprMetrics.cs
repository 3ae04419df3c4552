using System.Diagnostics.Metrics;

namespace DistortSignals.Platform.Dapr;

/// <summary>The sidecar client's meter (exported at /metrics and over OTLP).</summary>
public sealed class DaprMetrics : IDisposable
{
    public const string MeterName = "DistortSignals.Platform.Dapr";

    private readonly Meter _meter = new(MeterName);

    public DaprMetrics()
    {
        Calls = _meter.CreateCounter<long>("dapr.sidecar.calls", description: "Sidecar calls, by operation and outcome (HTTP status or error)");
        Duration = _meter.CreateHistogram<double>("dapr.sidecar.duration", unit: "s", description: "Sidecar call time including retries, by operation");
        Retries = _meter.CreateCounter<long>("dapr.sidecar.retries", description: "Sidecar call attempts repeated after a transient failure, by operation");
        BreakerOpened = _meter.CreateCounter<long>("dapr.sidecar.breaker.opened", description: "Times the sidecar circuit breaker opened");
        Deliveries = _meter.CreateCounter<long>("dapr.deliveries", description: "Events the sidecar delivered to this app, by topic and answer (SUCCESS, RETRY, DROP)");
        ActorCalls = _meter.CreateCounter<long>("dapr.actor.callbacks", description: "Actor calls from the sidecar, by kind (method, reminder, timer, deactivate) and outcome");
    }

    public Counter<long> Calls { get; }

    public Histogram<double> Duration { get; }

    public Counter<long> Retries { get; }

    public Counter<long> BreakerOpened { get; }

    public Counter<long> Deliveries { get; }

    public Counter<long> ActorCalls { get; }

    public void Dispose() => _meter.Dispose();
}
