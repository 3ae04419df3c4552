using System.CommandLine;
using System.Globalization;
using DistortSignals.Core.Market;
using DistortSignals.Host.Csv;

namespace DistortSignals.Host.Cli;

/// <summary>`distortsignals generate-bars`: writes deterministic synthetic bars as OHLCV CSV (how examples/data was made).</summary>
internal static class GenerateBarsCommand
{
    public static Command Create()
    {
        var symbol = new Option<string>("--symbol") { Description = "Symbol name", DefaultValueFactory = _ => "EURUSD" };
        var timeframe = new Option<string>("--timeframe") { Description = "M1, M5, M15, M30, H1, H4 or D1", DefaultValueFactory = _ => "H1" };
        var count = new Option<int>("--bars") { Description = "How many bars", DefaultValueFactory = _ => 2000 };
        var seed = new Option<ulong>("--seed") { Description = "Generator seed: the same seed gives the same bars", DefaultValueFactory = _ => 1 };
        var price = new Option<double>("--price") { Description = "Starting price", DefaultValueFactory = _ => 1.1 };
        var start = new Option<string>("--start") { Description = "First bar's time, ISO 8601 UTC", DefaultValueFactory = _ => "2026-01-05T00:00:00Z" };
        var output = new Option<FileInfo?>("--output") { Description = "Where to write the CSV (default: standard output)" };
        var command = new Command("generate-bars", "Write deterministic synthetic OHLCV bars as CSV") { symbol, timeframe, count, seed, price, start, output };
        command.SetAction((parse, _) => CommandRunner.RunAsync(parse, async context =>
        {
            var tf = TimeframeExtensions.TryParse(parse.GetValue(timeframe))
                ?? throw new InvalidInputException($"--timeframe: '{parse.GetValue(timeframe)}' is not one of M1, M5, M15, M30, H1, H4, D1");
            var bars = parse.GetValue(count);
            if (bars is < 1 or > 10_000_000)
            {
                throw new InvalidInputException($"--bars: {bars} is outside 1..10000000");
            }

            if (parse.GetValue(price) is not (> 0 and < 1e9) and var badPrice)
            {
                throw new InvalidInputException($"--price: {badPrice.ToString(CultureInfo.InvariantCulture)} must be above 0 and below 1e9");
            }

            if (!DateTimeOffset.TryParse(parse.GetValue(start), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var from))
            {
                throw new InvalidInputException($"--start: '{parse.GetValue(start)}' is not an ISO 8601 time");
            }

            var market = new SyntheticMarket(parse.GetValue(symbol)!, parse.GetValue(price), parse.GetValue(seed));
            await using var target = context.OpenOutput(parse.GetValue(output));
            await target.Writer.WriteLineAsync("date,open,high,low,close,volume");
            foreach (var bar in market.Bars(tf, from, bars))
            {
                await target.Writer.WriteLineAsync(string.Join(',', CsvFormat.Time(bar.OpenTime), CsvFormat.Number(bar.Open),
                    CsvFormat.Number(bar.High), CsvFormat.Number(bar.Low), CsvFormat.Number(bar.Close), CsvFormat.Number(bar.Volume)));
            }

            await target.CommitAsync();
            return 0;
        }));
        return command;
    }
}
