using System.Diagnostics.Metrics;

namespace DistortSignals.Signals.Processing;

/// <summary>The signals role's meter (exported at /metrics and over OTLP).</summary>
public sealed class SignalsMetrics : IDisposable
{
    public const string MeterName = "DistortSignals.Signals";

    private readonly Meter _meter = new(MeterName);

    public SignalsMetrics()
    {
        // The host's live summary line reads this name.
        SignalsGenerated = _meter.CreateCounter<long>("signals.generated", description: "Signals emitted, by strategy");
        BarsProcessed = _meter.CreateCounter<long>("signals.bars.processed", description: "Closed bars stored and run through the strategies");
        BarsIgnored = _meter.CreateCounter<long>("signals.bars.ignored", description: "Closed bars not newer than the last one taken (late or repeated)");
    }

    public Counter<long> SignalsGenerated { get; }

    public Counter<long> BarsProcessed { get; }

    public Counter<long> BarsIgnored { get; }

    public void Dispose() => _meter.Dispose();
}
