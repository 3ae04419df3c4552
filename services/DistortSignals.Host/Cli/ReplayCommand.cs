using System.CommandLine;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DistortSignals.Core.Market;
using DistortSignals.Host.Csv;
using Spectre.Console;

namespace DistortSignals.Host.Cli;

/// <summary>
/// `distortsignals replay`: sends a CSV of bars into a running host through the ingest API, in batches,
/// as fast as it takes them or at --speed times the bars' own pace, with a progress bar and a summary.
/// </summary>
internal static class ReplayCommand
{
    public const string KeyVariable = "DS_API_KEY";
    private const int BatchSize = 500;

    public static Command Create()
    {
        var input = new Option<FileInfo>("--input") { Description = "OHLCV CSV: date,open,high,low,close,volume", Required = true };
        var symbol = new Option<string>("--symbol") { Description = "The symbol the bars are of", Required = true };
        var timeframe = new Option<string?>("--timeframe") { Description = "M1..D1 (default: read from the spacing of the rows)" };
        var speed = new Option<double?>("--speed") { Description = "Times the bars' own pace (default: as fast as the host takes them)" };
        var target = new Option<string>("--target") { Description = "The running host", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var key = new Option<string?>("--key") { Description = $"An API key with the ingest scope (default: the {KeyVariable} variable)" };
        var command = new Command("replay", "Send a CSV of bars into a running host through the ingest API") { input, symbol, timeframe, speed, target, key };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(parse, context => RunAsync(
            context,
            parse.GetValue(input)!,
            parse.GetValue(symbol)!,
            parse.GetValue(timeframe),
            parse.GetValue(speed),
            parse.GetValue(target)!,
            parse.GetValue(key) ?? Environment.GetEnvironmentVariable(KeyVariable),
            cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(
        CommandContext context, FileInfo inputFile, string symbol, string? timeframeText, double? speed, string targetText, string? key, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(targetText, UriKind.Absolute, out var target) || target.Scheme is not ("http" or "https"))
        {
            throw new InvalidInputException($"--target: '{targetText}' is not an http or https URL");
        }

        if (string.IsNullOrEmpty(key))
        {
            throw new InvalidInputException($"--key: no API key; give --key or set {KeyVariable} to a key with the ingest scope");
        }

        if (speed is <= 0)
        {
            throw new InvalidInputException($"--speed: {speed} must be above 0");
        }

        List<CsvBar> rows;
        using (var reader = CommandContext.OpenInput(inputFile))
        {
            rows = [.. BarCsvReader.Read(reader, inputFile.Name)];
        }

        var timeframe = timeframeText is null ? InferTimeframe(rows, inputFile.Name)
            : TimeframeExtensions.TryParse(timeframeText) ?? throw new InvalidInputException($"--timeframe: '{timeframeText}' is not one of M1, M5, M15, M30, H1, H4, D1");
        var misaligned = rows.FirstOrDefault(r => !timeframe.IsAligned(r.Time));
        if (misaligned != default)
        {
            throw new CsvInputException(inputFile.Name, misaligned.Line, "date", CsvFormat.Time(misaligned.Time), $"is not the start of a {timeframe} bar");
        }

        using var http = new HttpClient { BaseAddress = target, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("X-API-Key", key);
        var totals = new ReplayTotals();
        async Task SendAllAsync(Action<int>? progress)
        {
            for (var start = 0; start < rows.Count; start += BatchSize)
            {
                var batch = rows.Skip(start).Take(BatchSize).ToList();
                await SendAsync(http, symbol, timeframe, batch, start, totals, cancellationToken);
                progress?.Invoke(start + batch.Count);
                if (speed is { } pace && start + batch.Count < rows.Count)
                {
                    await Task.Delay(timeframe.Duration() * batch.Count / pace, cancellationToken);
                }
            }
        }

        if (context.Console.Profile.Capabilities.Interactive)
        {
            await context.Console.Progress().StartAsync(async progress =>
            {
                var task = progress.AddTask($"{symbol} {timeframe} to {target}", maxValue: rows.Count);
                await SendAllAsync(sent => task.Value = sent);
            });
        }
        else
        {
            await SendAllAsync(null);
        }

        var table = new Table().Title($"replay of {inputFile.Name}").AddColumn("").AddColumn(new TableColumn("").RightAligned()).HideHeaders();
        table.AddRow("bars sent", rows.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("accepted", totals.Accepted.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("already stored", totals.Duplicates.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("refused", totals.Refused.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var reason in totals.Reasons.Take(5))
        {
            table.AddRow("  " + Markup.Escape(reason), "");
        }

        context.Console.Write(table);
        return totals.Refused > 0 ? 1 : 0;
    }

    /// <summary>The timeframe whose length is the smallest gap between rows (weekends and holidays only make gaps larger).</summary>
    private static Timeframe InferTimeframe(List<CsvBar> rows, string source)
    {
        if (rows.Count < 2)
        {
            throw new InvalidInputException($"--timeframe: {source} has fewer than two rows to read it from; give --timeframe");
        }

        var gap = rows.Zip(rows.Skip(1)).Min(pair => pair.Second.Time - pair.First.Time);
        return Enum.GetValues<Timeframe>().Cast<Timeframe?>().FirstOrDefault(tf => tf!.Value.Duration() == gap)
            ?? throw new InvalidInputException($"--timeframe: the rows of {source} are {gap} apart, which is no timeframe; give --timeframe");
    }

    private static async Task SendAsync(HttpClient http, string symbol, Timeframe timeframe, List<CsvBar> batch, int offset, ReplayTotals totals, CancellationToken cancellationToken)
    {
        var body = batch.Select(r => new
        {
            symbol,
            timeframe = timeframe.ToString(),
            time = CsvFormat.Time(r.Time),
            open = r.Values.Open,
            high = r.Values.High,
            low = r.Values.Low,
            close = r.Values.Close,
            volume = r.Values.Volume,
        });
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsJsonAsync(new Uri("/api/v1/bars", UriKind.Relative), body, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new InvalidInputException($"--target: cannot reach {http.BaseAddress}: {e.Message}");
        }

        using var _ = response;
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        var root = answer.RootElement;
        if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.UnprocessableEntity)
        {
            totals.Accepted += root.TryGetProperty("accepted", out var accepted) ? accepted.GetInt32() : 0;
            totals.Duplicates += root.TryGetProperty("duplicates", out var duplicates) ? duplicates.GetArrayLength() : 0;
            foreach (var refused in root.GetProperty("refused").EnumerateArray())
            {
                totals.Refused++;
                var row = batch[refused.GetProperty("index").GetInt32()];
                totals.Reasons.Add($"line {row.Line}: " + string.Join("; ", refused.GetProperty("errors").EnumerateArray()
                    .Select(e => $"{e.GetProperty("field").GetString()}: {e.GetProperty("message").GetString()}")));
            }

            return;
        }

        var detail = root.TryGetProperty("detail", out var text) ? text.GetString() : response.ReasonPhrase;
        throw new InvalidInputException($"--target: {http.BaseAddress} answered {(int)response.StatusCode} for rows {offset + 1}..{offset + batch.Count}: {detail}");
    }

    private sealed class ReplayTotals
    {
        public int Accepted { get; set; }

        public int Duplicates { get; set; }

        public int Refused { get; set; }

        public List<string> Reasons { get; } = [];
    }
}
