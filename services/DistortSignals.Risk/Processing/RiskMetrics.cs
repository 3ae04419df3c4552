using System.Diagnostics.Metrics;

namespace DistortSignals.Risk.Processing;

/// <summary>The risk role's meter (exported at /metrics and over OTLP).</summary>
public sealed class RiskMetrics : IDisposable
{
    public const string MeterName = "DistortSignals.Risk";

    private readonly Meter _meter = new(MeterName);

    public RiskMetrics()
    {
        Decisions = _meter.CreateCounter<long>("risk.decisions", description: "Risk decisions, by verdict (Allow, Reduce, Block)");
        BreakerTrips = _meter.CreateCounter<long>("risk.breaker.trips", description: "Circuit breakers opened, by breaker");
    }

    public Counter<long> Decisions { get; }

    public Counter<long> BreakerTrips { get; }

    public void Dispose() => _meter.Dispose();
}
