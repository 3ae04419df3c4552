using DistortSignals.Testing;

namespace DistortSignals.Host.Tests.Cli;

public sealed class SignalsCommandTests
{
    private static readonly string Examples = Path.Combine(SharedReference.RepositoryRoot(), "examples");
    private static readonly string Trend = Path.Combine(Examples, "strategies", "eurusd-trend.yaml");
    private static readonly string Bars = Path.Combine(Examples, "data", "eurusd-h1.csv");

    [Fact]
    public async Task The_example_strategy_on_the_example_bars_writes_signals_and_a_summary()
    {
        var run = await CliRun.RunAsync("signals", "--strategy", Trend, "--input", Bars);

        Assert.True(run.ExitCode == 0, run.Error);
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("id,time,barTime,strategy,symbol,timeframe,direction,strength,entry,stopLoss,takeProfit", lines[0], StringComparison.Ordinal);
        Assert.True(lines.Length > 5, $"expected signals, got {lines.Length - 1}");
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            Assert.Matches("^sig-[0-9a-f]{20}$", cells[0]);
            Assert.Equal(("eurusd-trend", "EURUSD", "H1"), (cells[3], cells[4], cells[5]));
            var (entry, stop, target) = (double.Parse(cells[8]), double.Parse(cells[9]), double.Parse(cells[10]));
            Assert.True(cells[6] == "BUY" ? stop < entry && entry < target : cells[6] == "SELL" && target < entry && entry < stop, line);
        }

        Assert.Contains("signals", run.Error, StringComparison.Ordinal);
        Assert.Contains("3000", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bars_that_do_not_start_on_the_strategy_timeframe_are_refused_with_the_line()
    {
        var file = CliRun.TempFile("date,open,high,low,close,volume\n2026-01-05T00:00:00Z,1.1,1.2,1.0,1.1,10\n2026-01-05T00:30:00Z,1.1,1.2,1.0,1.1,10\n");
        var run = await CliRun.RunAsync("signals", "--strategy", Trend, "--input", file);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("line 3, column date: '2026-01-05T00:30:00Z' is not the start of a H1 bar", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_strategy_is_refused_naming_the_file_and_every_field()
    {
        var strategy = CliRun.TempFile("""
            apiVersion: trading.distortsignals.io/v1alpha1
            kind: TradingStrategy
            metadata: {name: broken}
            spec:
              symbols: [EURUSD]
              timeframe: H1
              minStrength: 1.5
              exits: {stopAtr: 0}
            """, ".yaml");
        var run = await CliRun.RunAsync("signals", "--strategy", strategy, "--input", Bars);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(strategy, run.Error, StringComparison.Ordinal);
        Assert.Contains("spec.minStrength: 1.5 is outside 0..1", run.Error, StringComparison.Ordinal);
        Assert.Contains("spec.exits.stopAtr: 0 must be above 0", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_symbol_the_strategy_does_not_trade_is_refused()
    {
        var run = await CliRun.RunAsync("signals", "--strategy", Trend, "--input", Bars, "--symbol", "GBPUSD");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--symbol: 'GBPUSD' is not one of the strategy's symbols (EURUSD)", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_run_leaves_no_output_file_and_a_good_one_writes_it_whole()
    {
        var output = Path.Combine(Path.GetTempPath(), "ds-signals-" + Guid.NewGuid().ToString("N")[..8] + ".csv");
        var bad = CliRun.TempFile("date,open,high,low,close,volume\n2026-01-05T00:00:00Z,1.1,1.2,1.0,1.1,10\n2026-01-05T01:00:00Z,1.1,x,1.0,1.1,10\n");

        var failed = await CliRun.RunAsync("signals", "--strategy", Trend, "--input", bad, "--output", output);
        Assert.Equal(2, failed.ExitCode);
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(output) + "*"));

        var good = await CliRun.RunAsync("signals", "--strategy", Trend, "--input", Bars, "--output", output);
        Assert.Equal(0, good.ExitCode);
        Assert.Equal(string.Empty, good.Output);
        Assert.StartsWith("id,time,", File.ReadAllText(output), StringComparison.Ordinal);
        File.Delete(output);
    }
}
