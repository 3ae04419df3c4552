using DistortSignals.Host.Tests.Cli;
using DistortSignals.Testing;
using Npgsql;

namespace DistortSignals.Host.Tests.Run;

/// <summary>`distortsignals replay` against the composed platform on Kestrel.</summary>
public sealed class ReplayCommandTests(RunningPlatform platform) : IClassFixture<RunningPlatform>
{
    private static readonly string Bars = Path.Combine(SharedReference.RepositoryRoot(), "examples", "data", "eurusd-h1.csv");

    [Fact]
    public async Task A_csv_of_bars_is_stored_once_however_often_it_is_replayed()
    {
        var first = await CliRun.RunAsync("replay", "--input", Bars, "--symbol", "EURUSD", "--target", platform.Address.ToString(), "--key", platform.IngestKey);
        var again = await CliRun.RunAsync("replay", "--input", Bars, "--symbol", "EURUSD", "--target", platform.Address.ToString(), "--key", platform.IngestKey);

        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Matches(@"accepted\s+│\s+3000", first.Error);
        Assert.Matches(@"already stored\s+│\s+3000", again.Error);
        await using var connection = new NpgsqlConnection(platform.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM ingest.bars WHERE symbol = 'EURUSD' AND timeframe = 'H1' AND open_time >= '2026-01-05' AND open_time < '2026-05-10'", connection);
        Assert.Equal(3000L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_key_without_the_ingest_scope_is_refused_with_the_reason()
    {
        var run = await CliRun.RunAsync("replay", "--input", Bars, "--symbol", "EURUSD", "--target", platform.Address.ToString(), "--key", platform.ReaderKey);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("answered 403 for rows 1..500", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_key_or_an_unreachable_host_is_said_plainly()
    {
        var noKey = await CliRun.RunAsync("replay", "--input", Bars, "--symbol", "EURUSD", "--key", "");
        var unreachable = await CliRun.RunAsync("replay", "--input", Bars, "--symbol", "EURUSD", "--target", "http://127.0.0.1:9", "--key", platform.IngestKey);

        Assert.Contains("--key: no API key", noKey.Error, StringComparison.Ordinal);
        Assert.Contains("--target: cannot reach http://127.0.0.1:9/", unreachable.Error, StringComparison.Ordinal);
    }
}
