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
/// A run of bars (<see cref="HandleRunAsync"/>) is stored in one round trip and its signals in another, with the
/// outcome of handling its bars one after another.
/// </summary>
internal sealed partial class BarProcessor(
    ResourceSet resources, StrategyEngines engines, IOutbox outbox, SignalsMetrics metrics, ILogger<BarProcessor> logger)
{
    public const string Consumer = "signals";

    private static readonly string BarClosedType = CloudEvent.TypeName(Topics.Events.BarClosed);

    public EventSubscription Subscription => new(Consumer, SignalStore.Schema, Topics.Bars, HandleAsync, RunHandler: HandleRunAsync);

    public async Task<DeliveryOutcome> HandleAsync(CloudEvent cloudEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        if (ReadBar(cloudEvent, out var problem) is not { } bar)
        {
            LogDropped(logger, cloudEvent.Id, problem);
            return DeliveryOutcome.Drop;
        }

        await ProcessAsync([bar], transaction, cancellationToken);
        return DeliveryOutcome.Success;
    }

    /// <summary>
    /// The run's bars together. A run with an event that is not a bar the engines can take is dropped whole: the
    /// dispatcher then hands its events over one at a time, and <see cref="HandleAsync"/> drops that one alone.
    /// </summary>
    public async Task<DeliveryOutcome> HandleRunAsync(IReadOnlyList<CloudEvent> cloudEvents, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var bars = new List<Bar>(cloudEvents.Count);
        foreach (var cloudEvent in cloudEvents)
        {
            if (ReadBar(cloudEvent, out _) is not { } bar)
            {
                return DeliveryOutcome.Drop;
            }

            bars.Add(bar);
        }

        await ProcessAsync(bars, transaction, cancellationToken);
        return DeliveryOutcome.Success;
    }

    private async Task ProcessAsync(IReadOnlyList<Bar> given, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var used = given
            .Select(bar => (Bar: bar, Strategies: resources.Strategies
                .Where(s => s.Spec.Timeframe == bar.Timeframe && s.Spec.Symbols.Contains(bar.Symbol, StringComparer.Ordinal))
                .ToList()))
            .Where(b => b.Strategies.Count > 0)
            .ToList();
        if (used.Count == 0)
        {
            return;
        }

        // Stored before the engines take them, in the same round trip as the locks; a failure below rolls them back with the delivery.
        var latestStored = await SignalStore.LockSymbolsAndStoreBarsAsync(transaction, [.. used.Select(b => b.Bar)], cancellationToken);
        var signals = new List<(Signal Signal, IReadOnlyList<string> Accounts)>();
        var touched = new List<(IReadOnlyList<TradingStrategyResource> Strategies, string Symbol)>();
        var ignored = 0;
        try
        {
            for (var i = 0; i < used.Count; i++)
            {
                var (bar, strategies) = used[i];
                if (bar.OpenTime <= latestStored[i])
                {
                    ignored++;
                    continue;
                }

                // A paused strategy emits nothing, but its bars are kept so that it resumes warm.
                var running = strategies.Where(s => !s.Spec.Paused).ToList();
                touched.Add((running, bar.Symbol));
                var prepared = await engines.PrepareAsync(transaction, running, bar.Symbol, bar.Timeframe, latestStored[i], cancellationToken);
                foreach (var signal in prepared.Select(engine => engine.OnBar(bar).Signal).OfType<Signal>())
                {
                    signals.Add((signal, running.First(s => s.Name == signal.Strategy).Spec.Accounts));
                }
            }

            if (signals.Count > 0)
            {
                // The signals and their events in one round trip.
                await using var batch = new NpgsqlBatch(transaction.Connection, transaction);
                foreach (var (signal, _) in signals)
                {
                    batch.BatchCommands.Add(SignalStore.InsertSignal(signal));
                }

                outbox.AddTo(batch, SignalStore.Schema, Topics.Signals, [.. signals.Select(s => Generated(s.Signal, s.Accounts))]);
                await batch.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        catch
        {
            foreach (var (strategies, symbol) in touched)
            {
                engines.Discard(strategies, symbol);
            }

            throw;
        }

        // Counted once the work is done: a run that fails counts nothing, and its bars count when they go again.
        metrics.BarsIgnored.Add(ignored);
        metrics.BarsProcessed.Add(touched.Count);
        foreach (var (signal, _) in signals)
        {
            metrics.SignalsGenerated.Add(1, new KeyValuePair<string, object?>("strategy", signal.Strategy));
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
        if (cloudEvent.Type != BarClosedType)
        {
            problem = $"type {cloudEvent.Type} is not {BarClosedType}";
            return null;
        }

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
