using System.CommandLine;
using DistortSignals.Core.Indicators;
using DistortSignals.Host.Csv;

namespace DistortSignals.Host.Cli;

/// <summary>`distortsignals indicators`: computes indicators over an OHLCV CSV file and writes them as CSV.</summary>
internal static class IndicatorsCommand
{
    public static Command Create()
    {
        var input = new Option<FileInfo>("--input") { Description = "OHLCV CSV: date,open,high,low,close,volume", Required = true };
        var indicators = new Option<string[]>("--indicator")
        {
            Description = "An indicator such as \"RSI(14)\" or \"MACD(12,26,9)\"; repeat for more",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var output = new Option<FileInfo?>("--output") { Description = "Where to write the CSV (default: standard output)" };
        var command = new Command("indicators", "Compute technical indicators over an OHLCV CSV file") { input, indicators, output };
        command.SetAction((parse, _) => CommandRunner.RunAsync(parse, context =>
            RunAsync(context, parse.GetValue(input)!, parse.GetValue(indicators)!, parse.GetValue(output))));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, FileInfo inputFile, string[] ids, FileInfo? outputFile)
    {
        var instances = ids.Select(IndicatorCatalog.Create).ToArray();
        using var reader = CommandContext.OpenInput(inputFile);
        var rows = BarCsvReader.Read(reader, inputFile.Name);

        await using var target = context.OpenOutput(outputFile);
        var writer = target.Writer;
        await writer.WriteLineAsync(string.Join(',', ["timestamp", .. instances.SelectMany(i => i.Outputs.Select(o => CsvFormat.Text($"{i.Id}.{o}")))]));
        var cells = new List<string>();
        var count = 0;
        foreach (var row in rows)
        {
            cells.Clear();
            cells.Add(CsvFormat.Time(row.Time));
            foreach (var indicator in instances)
            {
                indicator.Update(row.Values);
                for (var o = 0; o < indicator.Outputs.Count; o++)
                {
                    cells.Add(CsvFormat.Number(indicator.Output(o)));
                }
            }

            await writer.WriteLineAsync(string.Join(',', cells));
            count++;
        }

        await target.CommitAsync();
        if (outputFile is not null)
        {
            await context.Error.WriteLineAsync($"wrote {count} rows of {string.Join(", ", instances.Select(i => i.Id))} to {outputFile.FullName}");
        }

        return 0;
    }
}
