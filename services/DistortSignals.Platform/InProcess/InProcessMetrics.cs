using System.Diagnostics.Metrics;
using DistortSignals.Platform.Messaging;

namespace DistortSignals.Platform.InProcess;

/// <summary>
/// The in-process dispatcher's meter (exported at /metrics and over OTLP): how its deliveries ended, as
/// <c>dapr.deliveries</c> counts the sidecar's, and how often a run had to be done again one delivery at a time.
/// </summary>
public sealed class InProcessMetrics : IDisposable
{
    public const string MeterName = "DistortSignals.Platform.InProcess";

    private readonly Meter _meter = new(MeterName);

    public InProcessMetrics()
    {
        Deliveries = _meter.CreateCounter<long>("platform.deliveries", description: "Deliveries the dispatcher finished, by consumer, topic and outcome (success, retry, dead_letter)");
        RunsRedone = _meter.CreateCounter<long>("platform.delivery.runs.redone", description: "Runs of deliveries done again one at a time, after a failure in their first pass or to retry a delivery, by consumer and topic");
    }

    public Counter<long> Deliveries { get; }

    public Counter<long> RunsRedone { get; }

    public void Dispose() => _meter.Dispose();

    internal void Finished(EventSubscription subscription, string outcome, int count = 1)
    {
        if (count > 0)
        {
            Deliveries.Add(count, Tag("consumer", subscription.Consumer), Tag("topic", subscription.Topic), Tag("outcome", outcome));
        }
    }

    internal void Redone(EventSubscription subscription) =>
        RunsRedone.Add(1, Tag("consumer", subscription.Consumer), Tag("topic", subscription.Topic));

    private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
}
