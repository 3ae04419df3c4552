using System.Collections.Concurrent;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform.Resources;
using DistortSignals.Signals.Storage;
using Npgsql;

namespace DistortSignals.Signals.Processing;

/// <summary>
/// The in-memory signal engines, one per strategy and symbol. An engine must have taken exactly the stored
/// bars of its symbol and timeframe (<c>signals.bars</c>), so that what it emits does not depend on when the
/// process started: it is created on the first bar it needs and fed the stored history first, and an engine
/// that has taken a bar the database does not hold (its transaction rolled back) is rebuilt.
/// </summary>
internal sealed class StrategyEngines
{
    private readonly ConcurrentDictionary<(string Strategy, string Symbol), TrackedEngine> _engines = new();

    /// <summary>How many engines are in memory.</summary>
    public int Count => _engines.Count;

    /// <summary>
    /// The engines of <paramref name="strategies"/> for <paramref name="symbol"/>, each brought up to the stored
    /// bars of <paramref name="timeframe"/> until <paramref name="latestStored"/>, without emitting; a newer bar the
    /// caller stored already is theirs to take next. The caller holds the symbol's lock in <paramref name="transaction"/>.
    /// </summary>
    public async Task<IReadOnlyList<TrackedEngine>> PrepareAsync(
        NpgsqlTransaction transaction,
        IReadOnlyList<TradingStrategyResource> strategies,
        string symbol,
        Timeframe timeframe,
        DateTimeOffset latestStored,
        CancellationToken cancellationToken)
    {
        var engines = new List<TrackedEngine>(strategies.Count);
        foreach (var strategy in strategies)
        {
            var key = (strategy.Name, symbol);
            if (!_engines.TryGetValue(key, out var engine) || engine.LastBarTime > latestStored)
            {
                engine = new TrackedEngine(new SignalEngine(strategy.Name, strategy.Spec, symbol));
                _engines[key] = engine;
            }

            engines.Add(engine);
        }

        // A new engine warms up from the whole history; one that another replica left behind catches up.
        var behind = engines.Where(e => e.LastBarTime < latestStored).ToList();
        if (behind.Count > 0)
        {
            await foreach (var bar in SignalStore.ReadBarsAsync(transaction, symbol, timeframe, behind.Min(e => e.LastBarTime), latestStored, cancellationToken))
            {
                foreach (var engine in behind.Where(e => e.LastBarTime < bar.OpenTime))
                {
                    engine.OnBar(bar);
                }
            }
        }

        return engines;
    }

    /// <summary>
    /// Forgets the engines of <paramref name="strategies"/> for <paramref name="symbol"/> after a failed
    /// delivery: they may have taken a bar that was rolled back, and would take its redelivery for a repeat.
    /// </summary>
    public void Discard(IEnumerable<TradingStrategyResource> strategies, string symbol)
    {
        foreach (var strategy in strategies)
        {
            _engines.TryRemove((strategy.Name, symbol), out _);
        }
    }

    /// <summary>An engine and the open time of the last bar it took.</summary>
    public sealed class TrackedEngine(SignalEngine engine)
    {
        public DateTimeOffset LastBarTime { get; private set; } = DateTimeOffset.MinValue;

        public StrategyEvaluation OnBar(Bar bar)
        {
            var evaluation = engine.OnBar(bar);
            if (evaluation.Outcome != SignalOutcome.Duplicate)
            {
                LastBarTime = bar.OpenTime;
            }

            return evaluation;
        }
    }
}
