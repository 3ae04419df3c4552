using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Resources;
using Npgsql;

namespace DistortSignals.Signals.Tests;

/// <summary>The platform's outbox, made to throw on the next signal it is given, once per <see cref="FailNextSignal"/>.</summary>
internal sealed class FlakyOutbox : IOutbox
{
    private readonly PostgresOutbox _inner = new();
    private int _failuresLeft;

    public int Failures { get; private set; }

    public void FailNextSignal() => Interlocked.Increment(ref _failuresLeft);

    public void AddTo(NpgsqlBatch batch, string schema, string topic, IReadOnlyList<CloudEvent> cloudEvents)
    {
        if (topic == Topics.Signals && _failuresLeft > 0)
        {
            Interlocked.Decrement(ref _failuresLeft);
            Failures++;
            throw new InvalidOperationException("the outbox is unavailable (test)");
        }

        _inner.AddTo(batch, schema, topic, cloudEvents);
    }
}

/// <summary>A clock fixed at one instant.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>Strategies on the symbol TEST, H1, with short periods so they warm up quickly, and the engine run over bars without a database.</summary>
internal static class Strategies
{
    public static TradingStrategyResource Named(string name, double momentum, double meanReversion, double breakout, double minStrength = 0.5, string symbol = "TEST") =>
        new(name, null, new TradingStrategySpec
        {
            Symbols = [symbol],
            Timeframe = Timeframe.H1,
            Weights = new StrategyWeights { Momentum = momentum, MeanReversion = meanReversion, Breakout = breakout },
            MinStrength = minStrength,
            Indicators = new IndicatorPeriods { AtrPercentile = 20 },
        });

    /// <summary>What one uninterrupted engine emits over <paramref name="bars"/>: the reference the module must match.</summary>
    public static List<Signal> Expected(TradingStrategyResource strategy, IEnumerable<Bar> bars)
    {
        var engine = new SignalEngine(strategy.Name, strategy.Spec, strategy.Spec.Symbols[0]);
        return [.. bars.Select(engine.OnBar).Select(e => e.Signal).OfType<Signal>()];
    }
}
