using DistortSignals.Platform.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DistortSignals.Gateway.Processing;

/// <summary>
/// Every <see cref="GatewayOptions.SweepInterval"/>: expires pending directives past their expiresAt and claimed
/// ones whose lease ended without a report, and marks accounts whose terminal missed
/// <see cref="GatewayOptions.MissedHeartbeats"/> heartbeats disconnected (publishing account.heartbeat with
/// Connected false). Replicas may sweep together: rows another is changing are skipped.
/// </summary>
internal sealed partial class GatewaySweeper(DirectiveLedger ledger, IOptions<GatewayOptions> options, ILogger<GatewaySweeper> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(options.Value.SweepInterval, ledger.SweepAsync, error => LogSweepFailed(logger, error), stoppingToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The gateway sweep failed; it runs again at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception error);
}
