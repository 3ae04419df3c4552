using System.Diagnostics.Metrics;
using DistortSignals.Core.Execution;
using DistortSignals.Platform.Messaging;
using DistortSignals.Risk.Processing;
using static DistortSignals.Risk.Tests.RiskTestHost;

namespace DistortSignals.Risk.Tests;

/// <summary>The DistortSignals.Risk meter counts decisions by verdict and breaker trips by breaker.</summary>
public sealed class RiskMetricsTests
{
    [Fact]
    public async Task Decisions_and_breaker_trips_are_counted()
    {
        await using var host = await StartAsync();
        var meter = host.Get<RiskMetrics>().Decisions.Meter;
        var counted = new List<(string Name, long Value, string Tag)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (counted)
            {
                counted.Add((instrument.Name, value, tags.ToArray().Single().Value?.ToString() ?? ""));
            }
        });
        listener.Start();
        await host.ConfigureAsync(Spec());

        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-a")));
        await host.DeliverAsync(Topics.Signals, SignalGenerated(Signal("sig-b")));
        for (var i = 0; i < 3; i++)
        {
            await host.DeliverAsync(Topics.Executions, host.Fill(DirectiveAction.Open, OrderSide.Buy, 0.1, 1.1, ExecutionOutcome.Rejected));
        }

        Assert.Equal([("risk.decisions", 1L, "Allow"), ("risk.decisions", 1L, "Block"), ("risk.breaker.trips", 1L, "BrokerErrors")], counted);
    }
}
