using System.Diagnostics.Metrics;

namespace DistortSignals.Hub;

/// <summary>The hub's meter: connected clients, events in and out, gaps and disconnects.</summary>
public sealed class HubMetrics : IDisposable
{
    public const string MeterName = "DistortSignals.Hub";

    private readonly Meter _meter = new(MeterName);

    public HubMetrics()
    {
        ClientsConnected = _meter.CreateUpDownCounter<long>("hub.clients.connected", description: "WebSocket clients connected to the hub");
        EventsReceived = _meter.CreateCounter<long>("hub.events.received", description: "Events the hub received from the topics");
        EventsSent = _meter.CreateCounter<long>("hub.events.sent", description: "Event messages sent to clients");
        Gaps = _meter.CreateCounter<long>("hub.gaps", description: "Gaps announced to clients (dropped events or a resume older than the buffer)");
        Disconnects = _meter.CreateCounter<long>("hub.disconnects", description: "Client connections ended, by close status");
    }

    public UpDownCounter<long> ClientsConnected { get; }

    public Counter<long> EventsReceived { get; }

    public Counter<long> EventsSent { get; }

    public Counter<long> Gaps { get; }

    public Counter<long> Disconnects { get; }

    public void Dispose() => _meter.Dispose();
}
