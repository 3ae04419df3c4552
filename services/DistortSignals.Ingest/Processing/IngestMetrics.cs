using System.Diagnostics.Metrics;

namespace DistortSignals.Ingest.Processing;

/// <summary>The ingest role's meter (exported at /metrics and over OTLP).</summary>
public sealed class IngestMetrics : IDisposable
{
    public const string MeterName = "DistortSignals.Ingest";

    private readonly Meter _meter = new(MeterName);

    public IngestMetrics()
    {
        TicksAccepted = _meter.CreateCounter<long>("ingest.ticks.accepted", description: "Ticks stored");
        TicksDuplicate = _meter.CreateCounter<long>("ingest.ticks.duplicate", description: "Ticks received again and not stored twice");
        TicksRefused = _meter.CreateCounter<long>("ingest.ticks.refused", description: "Ticks refused, by reason (Invalid, Late, UnknownSymbol)");
        BarsClosed = _meter.CreateCounter<long>("ingest.bars.closed", description: "Bars closed and published");
    }

    public Counter<long> TicksAccepted { get; }

    public Counter<long> TicksDuplicate { get; }

    public Counter<long> TicksRefused { get; }

    public Counter<long> BarsClosed { get; }

    public void Dispose() => _meter.Dispose();
}
