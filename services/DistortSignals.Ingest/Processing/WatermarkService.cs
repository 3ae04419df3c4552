using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Ingest.Processing;

/// <summary>Closes bars that no later tick closed, once the clock minus the allowed lateness has passed their end.</summary>
public sealed class WatermarkService(MarketDataIngestor ingestor, IngestOptions options, TimeProvider clock, ILogger<WatermarkService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.WatermarkInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await ingestor.AdvanceWatermarkAsync(clock.GetUtcNow(), stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The next tick of the timer tries again; a passing database problem must not stop the role.
                logger.LogError(e, "Advancing the bar watermark failed");
            }
        }
    }
}
