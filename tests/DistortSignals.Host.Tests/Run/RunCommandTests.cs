using DistortSignals.Host.Tests.Cli;

namespace DistortSignals.Host.Tests.Run;

/// <summary>`distortsignals run` refuses bad settings and resources before it starts anything.</summary>
public sealed class RunCommandTests
{
    [Theory]
    [InlineData("--role", "trader", "--role: 'trader' is not one of all, ingest, signals, risk, gateway, hub")]
    [InlineData("--platform", "kubernetes", "--platform: 'kubernetes' is not one of inprocess, dapr")]
    [InlineData("--feed", "live", "--feed: 'live' is not one of synthetic, none")]
    [InlineData("--speed", "0", "--speed: 0 must be above 0")]
    public async Task A_bad_setting_is_refused_naming_it(string option, string value, string expected)
    {
        var run = await CliRun.RunAsync("run", option, value);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_manifest_stops_the_start_naming_the_file_and_every_field()
    {
        var folder = Directory.CreateTempSubdirectory("ds-resources-").FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "bad.yaml"), """
            apiVersion: trading.distortsignals.io/v1alpha1
            kind: TradingStrategy
            metadata: {name: bad}
            spec:
              symbols: [EURUSD]
              timeframe: H1
              weights: {momentum: 2}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: other}
            """);

        var run = await CliRun.RunAsync("run", "--resources", folder);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("bad.yaml, document 1: spec.weights.momentum: 2 is outside 0..1", run.Error, StringComparison.Ordinal);
        Assert.Contains("bad.yaml, document 2: kind: 'ConfigMap' is not one of TradingStrategy, BrokerAccount, Secret", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_resources_folder_is_named()
    {
        var run = await CliRun.RunAsync("run", "--resources", "/no/such/folder");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("/no/such/folder: the resources folder does not exist", run.Error, StringComparison.Ordinal);
    }
}
