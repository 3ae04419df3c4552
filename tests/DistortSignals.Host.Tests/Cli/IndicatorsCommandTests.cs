using System.Globalization;
using System.Text.Json;
using DistortSignals.Testing;

namespace DistortSignals.Host.Tests.Cli;

public sealed class IndicatorsCommandTests
{
    private static readonly string Reference = SharedReference.Directory("reference/indicators");

    [Theory]
    [InlineData("quotes-compare.csv", "compare")]
    [InlineData("quotes-standard.csv", "standard")]
    public async Task Output_columns_match_the_reference_values(string file, string series)
    {
        string[] ids = ["RSI(14)", "BB(20,2)", "STOCH(14,3,3)", "SUPERTREND(10,3)", "DONCHIAN(20)"];
        var run = await CliRun.RunAsync(["indicators", "--input", Path.Combine(Reference, file), .. ids.SelectMany(id => new[] { "--indicator", id })]);
        Assert.True(run.ExitCode == 0, run.Error);

        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Reference, "expected.json")));
        var reference = expected.RootElement.GetProperty("series").GetProperty(series);
        var timestamps = reference.GetProperty("timestamps");
        Assert.Equal(timestamps.GetArrayLength(), lines.Length - 1);

        var compared = 0;
        var columns = ColumnNames(lines[0]);
        foreach (var (id, output, index) in columns)
        {
            var values = reference.GetProperty("indicators").GetProperty(id).GetProperty("outputs").GetProperty(output);
            for (var row = 1; row < lines.Length; row++)
            {
                var cell = Cells(lines[row])[index];
                var want = values[row - 1];
                if (want.ValueKind == JsonValueKind.Null)
                {
                    Assert.True(cell.Length == 0, $"{series} {id}.{output} row {row}: expected empty, got {cell}");
                    continue;
                }

                var actual = double.Parse(cell, CultureInfo.InvariantCulture);
                var value = want.GetDouble();
                Assert.True(Math.Abs(actual - value) <= 1e-9 * Math.Max(1, Math.Abs(value)), $"{series} {id}.{output} row {row}: expected {value}, got {actual}");
                compared++;
            }
        }

        Assert.True(compared > 5000, $"compared only {compared} values");
        Assert.Equal("2017-01-03T00:00:00Z", Cells(lines[1])[0]);
    }

    [Fact]
    public async Task A_malformed_number_stops_with_the_line_the_column_and_the_value()
    {
        var file = CliRun.TempFile("date,open,high,low,close,volume\n2024-01-01,1,2,0.5,1.5,10\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1,abc,0.5,1.5,10\n");
        var run = await CliRun.RunAsync("indicators", "--input", file, "--indicator", "SMA(2)");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("line 4, column high: 'abc' is not a finite number", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2024-01-01 10:00,1,0.9,0.5,1.5,10", "line 2, column high: 0.9 is below max(open, close) = 1.5")]
    [InlineData("2024-01-01 10:00,1,2,0.5,1.5,-3", "line 2, column volume: -3 is negative")]
    [InlineData("01/02/2024,1,2,0.5,1.5,3", "line 2, column date: '01/02/2024' is not an ISO 8601 date")]
    [InlineData("2024-01-01,1,2,0.5,1.5", "line 2: '2024-01-01,1,2,0.5,1.5' has 5 columns; the header has 6")]
    public async Task A_bad_row_is_refused_with_what_is_wrong(string row, string expected)
    {
        var file = CliRun.TempFile("date,open,high,low,close,volume\n" + row + "\n");
        var run = await CliRun.RunAsync("indicators", "--input", file, "--indicator", "SMA(2)");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rows_out_of_time_order_are_refused()
    {
        var file = CliRun.TempFile("date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-01,1,2,0.5,1.5,10\n");
        var run = await CliRun.RunAsync("indicators", "--input", file, "--indicator", "SMA(2)");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("line 3, column date: '2024-01-01' is not after the previous row's", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_header_without_the_required_columns_is_refused()
    {
        var file = CliRun.TempFile("time,open,high,low,close\n2024-01-01,1,2,0.5,1.5\n");
        var run = await CliRun.RunAsync("indicators", "--input", file, "--indicator", "SMA(2)");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("the header lacks date, volume", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_indicator_or_a_missing_file_is_named()
    {
        var unknown = await CliRun.RunAsync("indicators", "--input", Path.Combine(Reference, "quotes-standard.csv"), "--indicator", "RSX(14)");
        var missing = await CliRun.RunAsync("indicators", "--input", "/no/such.csv", "--indicator", "RSI(14)");

        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("unknown indicator 'RSX(14)'", unknown.Error, StringComparison.Ordinal);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--input: the file '/no/such.csv' does not exist", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Any_period_works_and_dates_with_minutes_are_read_as_utc()
    {
        var file = CliRun.TempFile("date,open,high,low,close,volume\n2024-01-01 09:30,1,4,0.5,1,10\n2024-01-01 09:31,1,4,0.5,2,10\n2024-01-01 09:32,1,4,0.5,3,10\n");
        var run = await CliRun.RunAsync("indicators", "--input", file, "--indicator", "sma(3)");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(["timestamp,SMA(3).sma", "2024-01-01T09:30:00Z,", "2024-01-01T09:31:00Z,", "2024-01-01T09:32:00Z,2"], run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>Header cells are "ID.output"; the ID may hold commas, so such cells are quoted.</summary>
    private static List<(string Id, string Output, int Index)> ColumnNames(string header)
    {
        var cells = Cells(header);
        return [.. cells.Skip(1).Select((cell, i) => (cell[..cell.LastIndexOf('.')], cell[(cell.LastIndexOf('.') + 1)..], i + 1))];
    }

    /// <summary>Splits an RFC 4180 line: commas inside double quotes belong to the cell.</summary>
    private static List<string> Cells(string line)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ',' && !quoted)
            {
                cells.Add(cell.ToString());
                cell.Clear();
            }
            else
            {
                cell.Append(c);
            }
        }

        cells.Add(cell.ToString());
        return cells;
    }
}
