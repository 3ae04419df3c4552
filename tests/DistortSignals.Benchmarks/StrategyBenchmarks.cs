using BenchmarkDotNet.Attributes;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;

namespace DistortSignals.Benchmarks;

/// <summary>
/// One strategy's full update per bar: eight indicators, the regime, the scores and the filters, with
/// H4 confirmation. Mean is nanoseconds per bar. A fresh engine per iteration, because an engine ignores
/// bars it has already seen.
/// </summary>
public class StrategyBenchmarks
{
    private const int Bars = 200_000;

    private readonly TradingStrategySpec _spec = new()
    {
        Symbols = ["EURUSD"],
        Timeframe = Timeframe.H1,
        ConfirmTimeframe = Timeframe.H4,
        MinStrength = 0.5,
    };

    private Bar[] _bars = [];
    private SignalEngine _engine = null!;

    [GlobalSetup]
    public void Setup() =>
        _bars = [.. new SyntheticMarket("EURUSD", 1.1, seed: 7).Bars(Timeframe.H1, new DateTimeOffset(2000, 1, 3, 0, 0, 0, TimeSpan.Zero), Bars)];

    [IterationSetup]
    public void NewEngine() => _engine = new SignalEngine("bench", _spec, "EURUSD");

    [Benchmark(OperationsPerInvoke = Bars)]
    public int SignalEngine_OnBar()
    {
        var signals = 0;
        foreach (var bar in _bars)
        {
            if (_engine.OnBar(bar).Signal is not null)
            {
                signals++;
            }
        }

        return signals;
    }
}
