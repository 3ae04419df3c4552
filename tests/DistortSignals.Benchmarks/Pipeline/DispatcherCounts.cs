using System.Diagnostics.Metrics;
using DistortSignals.Platform.InProcess;

namespace DistortSignals.Benchmarks.Pipeline;

/// <summary>
/// Totals of the in-process dispatcher's meter in this process: deliveries retried or dead-lettered, and runs done
/// again one delivery at a time. A slow event that waited for a retry or for its run's second pass shows here.
/// </summary>
internal sealed class DispatcherCounts : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _retried;
    private long _deadLettered;
    private long _redone;

    public DispatcherCounts()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == InProcessMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "platform.delivery.runs.redone")
            {
                Interlocked.Add(ref _redone, value);
                return;
            }

            foreach (var tag in tags)
            {
                if (tag is { Key: "outcome", Value: "retry" })
                {
                    Interlocked.Add(ref _retried, value);
                }
                else if (tag is { Key: "outcome", Value: "dead_letter" })
                {
                    Interlocked.Add(ref _deadLettered, value);
                }
            }
        });
        _listener.Start();
    }

    public (long Retried, long DeadLettered, long Redone) Read() =>
        (Interlocked.Read(ref _retried), Interlocked.Read(ref _deadLettered), Interlocked.Read(ref _redone));

    public void Dispose() => _listener.Dispose();
}
