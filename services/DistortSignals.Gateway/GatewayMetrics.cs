using System.Diagnostics.Metrics;

namespace DistortSignals.Gateway;

/// <summary>The gateway role's meter (exported at /metrics and over OTLP).</summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "DistortSignals.Gateway";

    private readonly Meter _meter = new(MeterName);

    public GatewayMetrics()
    {
        DirectivesReceived = _meter.CreateCounter<long>("gateway.directives.received", description: "New directives stored from directive.created");
        DirectivesExpired = _meter.CreateCounter<long>("gateway.directives.expired", description: "Directives expired unclaimed or after a lapsed claim");
        Claims = _meter.CreateCounter<long>("gateway.claims", description: "Claims granted");
        ClaimsRefused = _meter.CreateCounter<long>("gateway.claims.refused", description: "Claims refused (held by another terminal, expired, cancelled or finished)");
        Reports = _meter.CreateCounter<long>("gateway.reports", description: "Execution reports accepted, by outcome");
        ReportsRefused = _meter.CreateCounter<long>("gateway.reports.refused", description: "Reports that conflicted with a finished directive");
        Heartbeats = _meter.CreateCounter<long>("gateway.heartbeats", description: "Terminal heartbeats accepted");
        Polls = _meter.CreateCounter<long>("gateway.polls", description: "EA polls answered");
    }

    public Counter<long> DirectivesReceived { get; }

    public Counter<long> DirectivesExpired { get; }

    public Counter<long> Claims { get; }

    public Counter<long> ClaimsRefused { get; }

    public Counter<long> Reports { get; }

    public Counter<long> ReportsRefused { get; }

    public Counter<long> Heartbeats { get; }

    public Counter<long> Polls { get; }

    public void Dispose() => _meter.Dispose();
}
