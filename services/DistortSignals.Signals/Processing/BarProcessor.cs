using System.Text.Json;
using System.Text.Json.Nodes;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Resources;
using DistortSignals.Signals.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DistortSignals.Signals.Processing;

/// <summary>
/// Handles <c>bar.closed</c>: a bar of a timeframe that a strategy trading its symbol uses is stored in
/// <c>signals.bars</c> and run through those strategies' engines; every signal is stored in
/// <c>signals.signals</c> and published as <c>signal.generated</c> through the outbox, all in the delivery's
/// transaction. A bar that is not newer than the last stored one is late or repeated and changes nothing.
/// </summary>
internal sealed partial class BarProcessor(
    ResourceSet resources, StrategyEngines engines, IOutbox outbox, SignalsMetrics metrics, ILogger<BarProcessor> logger)
{
    public const string Consumer = "signals";

    private static readonly string BarClosedType = CloudEvent.TypeName(Topics.Events.BarClosed);

    public EventSubscription Subscription => new(Consumer, SignalStore.Schema, Topics.Bars, HandleAsync);

    public async Task<DeliveryOutcome> HandleAsync(CloudEvent cloudEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        if (cloudEvent.Type != BarClosedType)
        {
            LogDropped(logger, cloudEvent.Id, $"type {cloudEvent.Type} is not {BarClosedType}");
            return DeliveryOutcome.Drop;
        }

        if (ReadBar(cloudEvent, out var problem) is not { } bar)
        {
            LogDropped(logger, cloudEvent.Id, problem);
            return DeliveryOutcome.Drop;
        }

        var strategies = resources.Strategies
            .Where(s => s.Spec.Timeframe == bar.Timeframe && s.Spec.Symbols.Contains(bar.Symbol, StringComparer.Ordinal))
            .ToList();
        if (strategies.Count == 0)
        {
            return DeliveryOutcome.Success;
        }

        // Stored before the engines take it, in the same round trip as the lock; a failure below rolls it back with the delivery.
        var latestStored = await SignalStore.LockSymbolAndStoreBarAsync(transaction, bar, cancellationToken);
        if (bar.OpenTime <= latestStored)
        {
            metrics.BarsIgnored.Add(1);
            return DeliveryOutcome.Success;
        }

        // A paused strategy emits nothing, but its bars are kept so that it resumes warm.
        var running = strategies.Where(s => !s.Spec.Paused).ToList();
        try
        {
            var prepared = await engines.PrepareAsync(transaction, running, bar.Symbol, bar.Timeframe, latestStored, cancellationToken);
            var signals = prepared.Select(engine => engine.OnBar(bar).Signal).OfType<Signal>().ToList();
            if (signals.Count > 0)
            {
                // The signals and their events in one round trip.
                await using var batch = new NpgsqlBatch(transaction.Connection, transaction);
                foreach (var signal in signals)
                {
                    batch.BatchCommands.Add(SignalStore.InsertSignal(signal));
                }

                outbox.AddTo(batch, SignalStore.Schema, Topics.Signals,
                    [.. signals.Select(signal => Generated(signal, running.First(s => s.Name == signal.Strategy).Spec.Accounts))]);
                await batch.ExecuteNonQueryAsync(cancellationToken);
            }

            metrics.BarsProcessed.Add(1);
            foreach (var signal in signals)
            {
                metrics.SignalsGenerated.Add(1, new KeyValuePair<string, object?>("strategy", signal.Strategy));
            }

            return DeliveryOutcome.Success;
        }
        catch
        {
            engines.Discard(running, bar.Symbol);
            throw;
        }
    }

    /// <summary>The <c>signal.generated</c> event of <paramref name="signal"/>, naming its strategy's accounts.</summary>
    private static CloudEvent Generated(Signal signal, IReadOnlyList<string> accounts) =>
        CloudEvent.Create(signal.Id, SignalStore.Schema, Topics.Events.SignalGenerated, signal.Symbol, signal.Time, WithAccounts(signal, accounts));

    /// <summary>
    /// The event data: the signal's own fields plus <c>accounts</c>, the strategy's BrokerAccounts that the risk role
    /// decides for. Added beside the signal's fields so that readers of the plain signal keep working.
    /// </summary>
    internal static JsonObject WithAccounts(Signal signal, IReadOnlyList<string> accounts)
    {
        var data = JsonSerializer.SerializeToNode(signal, PlatformJson.Options)!.AsObject();
        data["accounts"] = JsonSerializer.SerializeToNode(accounts, PlatformJson.Options);
        return data;
    }

    /// <summary>The event's bar when it is one the engines can take; null with the reason otherwise.</summary>
    private static Bar? ReadBar(CloudEvent cloudEvent, out string problem)
    {
        Bar bar;
        try
        {
            bar = cloudEvent.ReadData<Bar>();
        }
        catch (JsonException e)
        {
            problem = $"data is not a bar: {e.Message}";
            return null;
        }

        var errors = MarketValidation.Validate(bar);
        problem = string.Join("; ", errors);
        return errors.Count == 0 ? bar : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "bar.closed event {EventId} is dropped: {Reason}")]
    private static partial void LogDropped(ILogger logger, string eventId, string reason);
}
