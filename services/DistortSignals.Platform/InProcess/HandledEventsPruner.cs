using DistortSignals.Platform.Hosting;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DistortSignals.Platform.InProcess;

/// <summary>
/// Deletes the dedupe records of events handled longer ago than <see cref="InProcessPlatformOptions.HandledEventsRetention"/>
/// from every consumer schema. A redelivery comes minutes after the first delivery at most (the relay republishes
/// what it could not mark sent), so a week of records keeps every consumer idempotent while the table stays bounded.
/// </summary>
public sealed partial class HandledEventsPruner(
    NpgsqlDataSource dataSource,
    ISubscriptionRegistry registry,
    IOptions<InProcessPlatformOptions> options,
    ILogger<HandledEventsPruner> logger) : BackgroundService
{
    private readonly InProcessPlatformOptions _options = options.Value;

    /// <summary>Prunes every consumer schema once; returns how many records went.</summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        var deleted = 0;
        foreach (var schema in registry.Subscriptions.Select(s => s.Schema).Distinct(StringComparer.Ordinal))
        {
            await using var command = dataSource.CreateCommand(
                $"DELETE FROM {PostgresIdentifier.Require(schema, "subscription schema")}.handled_events WHERE handled_at < now() - @retention");
            command.Parameters.AddWithValue("retention", _options.HandledEventsRetention);
            deleted += await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return deleted;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(
            _options.OutboxPruneInterval,
            async cancellationToken =>
            {
                var deleted = await PruneAsync(cancellationToken);
                if (deleted > 0)
                {
                    LogPruned(logger, deleted);
                }
            },
            error => LogPruneFailed(logger, error),
            stoppingToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pruned {Count} handled-event records past their retention")]
    private static partial void LogPruned(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pruning handled-event records failed; trying again at the next interval")]
    private static partial void LogPruneFailed(ILogger logger, Exception error);
}
