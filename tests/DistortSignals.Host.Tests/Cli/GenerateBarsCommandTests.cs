using DistortSignals.Testing;

namespace DistortSignals.Host.Tests.Cli;

public sealed class GenerateBarsCommandTests
{
    [Fact]
    public async Task The_shipped_example_bars_are_what_the_generator_makes_from_their_seed()
    {
        // The command documented in examples/README.md.
        var run = await CliRun.RunAsync("generate-bars", "--symbol", "EURUSD", "--timeframe", "H1", "--bars", "3000", "--seed", "7");

        Assert.Equal(0, run.ExitCode);
        var shipped = await File.ReadAllTextAsync(Path.Combine(SharedReference.RepositoryRoot(), "examples", "data", "eurusd-h1.csv"));
        Assert.Equal(shipped, run.Output);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_bars_and_another_seed_other_bars()
    {
        var first = await CliRun.RunAsync("generate-bars", "--bars", "200", "--seed", "3", "--timeframe", "M5");
        var again = await CliRun.RunAsync("generate-bars", "--bars", "200", "--seed", "3", "--timeframe", "M5");
        var other = await CliRun.RunAsync("generate-bars", "--bars", "200", "--seed", "4", "--timeframe", "M5");

        Assert.Equal(first.Output, again.Output);
        Assert.NotEqual(first.Output, other.Output);
        Assert.Equal(201, first.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Theory]
    [InlineData("--timeframe", "H2", "--timeframe: 'H2' is not one of")]
    [InlineData("--bars", "0", "--bars: 0 is outside")]
    [InlineData("--price", "-1", "--price: -1 must be above 0")]
    [InlineData("--start", "yesterday", "--start: 'yesterday' is not an ISO 8601 time")]
    public async Task Bad_options_are_named(string option, string value, string expected)
    {
        var run = await CliRun.RunAsync("generate-bars", option, value);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.Error, StringComparison.Ordinal);
    }
}
