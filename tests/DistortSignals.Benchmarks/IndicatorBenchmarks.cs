using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using DistortSignals.Core.Indicators;

namespace DistortSignals.Benchmarks;

/// <summary>
/// Every indicator over a million bars, streaming (Update per bar) and batch (over spans). Each invocation
/// covers all bars and OperationsPerInvoke is the bar count, so Mean is nanoseconds per bar and bars per
/// second is 1e9/Mean. The baseline copies each close to the output: the memory floor.
/// </summary>
public class IndicatorBenchmarks
{
    private const int Bars = 1_000_000;

    private Ohlcv[] _bars = [];

    // One buffer, viewed as whichever output type a batch writes, so only one large output is ever allocated.
    private byte[] _output = [];

    private Sma _sma = null!;
    private Ema _ema = null!;
    private Rsi _rsi = null!;
    private Macd _macd = null!;
    private BollingerBands _bollinger = null!;
    private Atr _atr = null!;
    private Adx _adx = null!;
    private Stochastic _stochastic = null!;
    private WilliamsR _williams = null!;
    private Cci _cci = null!;
    private Obv _obv = null!;
    private Donchian _donchian = null!;
    private Keltner _keltner = null!;
    private SuperTrend _superTrend = null!;
    private Vwap _vwap = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(20170103);
        _bars = new Ohlcv[Bars];
        var close = 250.0;
        for (var i = 0; i < Bars; i++)
        {
            var open = close;
            close = Math.Max(1, open + ((random.NextDouble() - 0.5) * 4));
            var high = Math.Max(open, close) + random.NextDouble();
            var low = Math.Min(open, close) - random.NextDouble();
            _bars[i] = new Ohlcv(open, high, low, close, Math.Floor(random.NextDouble() * 1e7));
        }

        _output = new byte[Bars * Unsafe.SizeOf<BollingerPoint>()];
        _sma = new Sma(20);
        _ema = new Ema(20);
        _rsi = new Rsi(14);
        _macd = new Macd();
        _bollinger = new BollingerBands();
        _atr = new Atr();
        _adx = new Adx();
        _stochastic = new Stochastic();
        _williams = new WilliamsR();
        _cci = new Cci();
        _obv = new Obv();
        _donchian = new Donchian();
        _keltner = new Keltner();
        _superTrend = new SuperTrend();
        _vwap = new Vwap();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Bars)]
    public void Baseline_CopyClose()
    {
        var bars = _bars.AsSpan();
        var output = Output<double?>();
        for (var i = 0; i < bars.Length; i++)
        {
            output[i] = bars[i].Close;
        }
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Sma_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _sma.Update(in bar);
        }

        return _sma.Value;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Ema_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _ema.Update(in bar);
        }

        return _ema.Value;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Rsi_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _rsi.Update(in bar);
        }

        return _rsi.Value;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Macd_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _macd.Update(in bar);
        }

        return _macd.Histogram;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Bollinger_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _bollinger.Update(in bar);
        }

        return _bollinger.PercentB;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Atr_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _atr.Update(in bar);
        }

        return _atr.Value;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Adx_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _adx.Update(in bar);
        }

        return _adx.Adxr;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Stochastic_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _stochastic.Update(in bar);
        }

        return _stochastic.J;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? WilliamsR_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _williams.Update(in bar);
        }

        return _williams.Value;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Cci_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _cci.Update(in bar);
        }

        return _cci.Value;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Obv_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _obv.Update(in bar);
        }

        return _obv.Value;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Donchian_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _donchian.Update(in bar);
        }

        return _donchian.Width;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Keltner_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _keltner.Update(in bar);
        }

        return _keltner.Width;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? SuperTrend_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _superTrend.Update(in bar);
        }

        return _superTrend.Value;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public double? Vwap_Stream()
    {
        foreach (ref readonly var bar in _bars.AsSpan())
        {
            _vwap.Update(in bar);
        }

        return _vwap.Value;
    }

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Sma_Batch() => Sma.Batch(_bars, Output<double?>(), 20);

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Ema_Batch() => Ema.Batch(_bars, Output<double?>(), 20);

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Rsi_Batch() => Rsi.Batch(_bars, Output<double?>());

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Macd_Batch() => Macd.Batch(_bars, Output<MacdPoint>());

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Bollinger_Batch() => BollingerBands.Batch(_bars, Output<BollingerPoint>());

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Atr_Batch() => Atr.Batch(_bars, Output<AtrPoint>());

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Adx_Batch() => Adx.Batch(_bars, Output<AdxPoint>());

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Stochastic_Batch() => Stochastic.Batch(_bars, Output<StochasticPoint>());

    [Benchmark(OperationsPerInvoke = Bars)]
    public void WilliamsR_Batch() => WilliamsR.Batch(_bars, Output<double?>());

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Cci_Batch() => Cci.Batch(_bars, Output<double?>());

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Obv_Batch() => Obv.Batch(_bars, Output<double?>());

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Donchian_Batch() => Donchian.Batch(_bars, Output<ChannelPoint>());

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Keltner_Batch() => Keltner.Batch(_bars, Output<ChannelPoint>());

    [Benchmark(OperationsPerInvoke = Bars)]
    public void SuperTrend_Batch() => SuperTrend.Batch(_bars, Output<SuperTrendPoint>());

    [Benchmark(OperationsPerInvoke = Bars)]
    public void Vwap_Batch() => Vwap.Batch(_bars, Output<double?>());

    // The output types hold no references, so reinterpreting the bytes is safe; the buffer fits the largest.
    private Span<T> Output<T>() =>
        MemoryMarshal.CreateSpan(ref Unsafe.As<byte, T>(ref MemoryMarshal.GetArrayDataReference(_output)), Bars);
}
