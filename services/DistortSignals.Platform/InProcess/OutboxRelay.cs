using System.Text.Json;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DistortSignals.Platform.InProcess;

/// <summary>
/// Publishes each registered schema's outbox through <see cref="IEventPublisher"/> in <c>seq</c> order and
/// marks the rows sent; woken by the outbox's NOTIFY, or by the poll interval when a notification was missed.
/// Delivery is at least once: a crash between publishing and marking publishes the rows again, which is
/// harmless because event ids are stable and subscribers dedupe on them. The in-process publisher takes a
/// whole batch with one statement in the relay's own transaction, so there publishing and marking are atomic. One relay per schema works at a
/// time (a transaction advisory lock), so replicas do not publish the same rows concurrently or out of order.
/// Sent rows older than the retention are pruned.
/// </summary>
public sealed class OutboxRelay(
    NpgsqlDataSource dataSource,
    IEventPublisher publisher,
    IEnumerable<OutboxRegistration> outboxes,
    IOptions<InProcessPlatformOptions> options,
    ILogger<OutboxRelay> logger) : BackgroundService
{
    private readonly InProcessPlatformOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var signals = outboxes
            .Select(o => PostgresIdentifier.Require(o.Schema, "outbox schema"))
            .Distinct()
            .ToDictionary(schema => schema, _ => new AsyncSignal());
        if (signals.Count == 0)
        {
            return;
        }

        await Task.WhenAll([ListenAsync(signals, stoppingToken), .. signals.Select(s => RelayLoopAsync(s.Key, s.Value, stoppingToken))]);
    }

    /// <summary>Publishes and marks one batch; returns how many rows it published.</summary>
    private async Task<int> RelayBatchAsync(string schema, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock(hashtextextended(@key, 0))", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", "outbox:" + schema);
            if (!(bool)(await lockCommand.ExecuteScalarAsync(cancellationToken))!)
            {
                return 0;
            }
        }

        var rows = new List<(long Seq, string Topic, string Payload)>();
        await using (var select = new NpgsqlCommand(
            $"SELECT seq, topic, payload::text FROM {schema}.outbox WHERE sent_at IS NULL ORDER BY seq LIMIT @limit", connection, transaction))
        {
            select.Parameters.AddWithValue("limit", _options.OutboxBatchSize);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
            }
        }

        var published = new List<long>();
        try
        {
            if (publisher is InProcessPublisher inProcess)
            {
                // One statement in this transaction: the deliveries and the sent marks commit together.
                var events = rows.Select(r => (r.Topic, JsonSerializer.Deserialize<CloudEvent>(r.Payload, PlatformJson.Options)!)).ToList();
                await inProcess.PublishInTransactionAsync(transaction, events, cancellationToken);
                published.AddRange(rows.Select(r => r.Seq));
            }
            else
            {
                foreach (var (seq, topic, payload) in rows)
                {
                    var cloudEvent = JsonSerializer.Deserialize<CloudEvent>(payload, PlatformJson.Options)!;
                    await publisher.PublishEventAsync(topic, cloudEvent, cancellationToken);
                    published.Add(seq);
                }
            }
        }
        finally
        {
            // Rows published before a failure are marked, so only the rest is published again.
            if (published.Count > 0)
            {
                await using var mark = new NpgsqlCommand($"UPDATE {schema}.outbox SET sent_at = now() WHERE seq = ANY(@seqs)", connection, transaction);
                mark.Parameters.AddWithValue("seqs", published.ToArray());
                await mark.ExecuteNonQueryAsync(CancellationToken.None);
                await transaction.CommitAsync(CancellationToken.None);
                (publisher as InProcessPublisher)?.Committed();
            }
        }

        return published.Count;
    }

    /// <summary>Deletes sent rows older than the retention; returns how many.</summary>
    private async Task<int> PruneAsync(string schema, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"DELETE FROM {schema}.outbox WHERE sent_at < now() - @retention");
        command.Parameters.AddWithValue("retention", _options.OutboxRetention);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task RelayLoopAsync(string schema, AsyncSignal signal, CancellationToken stoppingToken)
    {
        var nextPrune = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await RelayBatchAsync(schema, stoppingToken) == _options.OutboxBatchSize)
                {
                    continue;
                }

                if (DateTimeOffset.UtcNow >= nextPrune)
                {
                    await PruneAsync(schema, stoppingToken);
                    nextPrune = DateTimeOffset.UtcNow + _options.OutboxPruneInterval;
                }

                await signal.WaitAsync(_options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                logger.LogError(error, "Relaying the outbox of schema {Schema} failed; trying again", schema);
                await DelayAsync(stoppingToken);
            }
        }
    }

    private Task ListenAsync(Dictionary<string, AsyncSignal> signals, CancellationToken stoppingToken)
    {
        var byChannel = signals.ToDictionary(s => PostgresOutbox.ChannelFor(s.Key), s => s.Value);
        return PostgresNotifications.ListenAsync(
            dataSource,
            byChannel.Keys,
            notification =>
            {
                if (byChannel.TryGetValue(notification.Channel, out var signal))
                {
                    signal.Set();
                }
            },
            listening: () =>
            {
                // Rows may have been committed while we were not listening.
                foreach (var signal in signals.Values)
                {
                    signal.Set();
                }
            },
            failed: error => logger.LogWarning(error, "Listening for outbox notifications failed; polling until it reconnects"),
            _options.PollInterval,
            stoppingToken);
    }

    private async Task DelayAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(_options.PollInterval, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping: the loop ends.
        }
    }
}
