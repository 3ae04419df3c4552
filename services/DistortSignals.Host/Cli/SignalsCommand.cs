using System.CommandLine;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Host.Csv;
using DistortSignals.Platform.Resources;
using Spectre.Console;

namespace DistortSignals.Host.Cli;

/// <summary>`distortsignals signals`: runs one TradingStrategy over a CSV of bars and writes the signals it emits.</summary>
internal static class SignalsCommand
{
    private const int ProgressThreshold = 20_000;

    public static readonly string[] Header =
    [
        "id", "time", "barTime", "strategy", "symbol", "timeframe", "direction", "strength", "entry", "stopLoss", "takeProfit",
        "atr", "trend", "volatility", "adx", "atrPercentile", "momentum", "meanReversion", "breakout",
    ];

    public static Command Create()
    {
        var strategy = new Option<FileInfo>("--strategy") { Description = "A YAML file with a TradingStrategy manifest", Required = true };
        var input = new Option<FileInfo>("--input") { Description = "OHLCV CSV of bars of the strategy's timeframe", Required = true };
        var output = new Option<FileInfo?>("--output") { Description = "Where to write the signals CSV (default: standard output)" };
        var name = new Option<string?>("--name") { Description = "Which TradingStrategy, when the file holds several" };
        var symbol = new Option<string?>("--symbol") { Description = "The symbol the bars are of (default: the strategy's first)" };
        var command = new Command("signals", "Run a TradingStrategy over a CSV of bars and write the signals it emits")
        {
            strategy, input, output, name, symbol,
        };
        command.SetAction((parse, _) => CommandRunner.RunAsync(parse, context => RunAsync(
            context, parse.GetValue(strategy)!, parse.GetValue(input)!, parse.GetValue(output), parse.GetValue(name), parse.GetValue(symbol))));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, FileInfo strategyFile, FileInfo inputFile, FileInfo? outputFile, string? name, string? symbolOption)
    {
        var strategy = LoadStrategy(strategyFile, name);
        var symbol = symbolOption ?? strategy.Spec.Symbols[0];
        if (!strategy.Spec.Symbols.Contains(symbol))
        {
            throw new InvalidInputException($"--symbol: '{symbol}' is not one of the strategy's symbols ({string.Join(", ", strategy.Spec.Symbols)})");
        }

        var timeframe = strategy.Spec.Timeframe;
        List<Bar> bars;
        using (var reader = CommandContext.OpenInput(inputFile))
        {
            bars = [.. BarCsvReader.Read(reader, inputFile.Name).Select(row => ToBar(row, symbol, timeframe, inputFile.Name))];
        }

        var engine = new SignalEngine(strategy.Name, strategy.Spec, symbol);
        var outcomes = new Dictionary<SignalOutcome, int>();
        var signals = new List<Signal>();
        void Run(Action<int>? progress)
        {
            for (var i = 0; i < bars.Count; i++)
            {
                var evaluation = engine.OnBar(bars[i]);
                outcomes[evaluation.Outcome] = outcomes.GetValueOrDefault(evaluation.Outcome) + 1;
                if (evaluation.Signal is { } signal)
                {
                    signals.Add(signal);
                }

                if ((i & 0xFFF) == 0)
                {
                    progress?.Invoke(i);
                }
            }
        }

        if (bars.Count >= ProgressThreshold && context.Console.Profile.Capabilities.Interactive)
        {
            context.Console.Progress().Start(progress =>
            {
                var task = progress.AddTask($"{strategy.Name} on {symbol}", maxValue: bars.Count);
                Run(i => task.Value = i);
                task.Value = bars.Count;
            });
        }
        else
        {
            Run(null);
        }

        await using (var target = context.OpenOutput(outputFile))
        {
            await target.Writer.WriteLineAsync(string.Join(',', Header));
            foreach (var signal in signals)
            {
                await target.Writer.WriteLineAsync(ToCsv(signal));
            }

            await target.CommitAsync();
        }

        context.Console.Write(Summary(strategy.Name, symbol, bars, signals, outcomes, outputFile));
        return 0;
    }

    private static TradingStrategyResource LoadStrategy(FileInfo file, string? name)
    {
        if (!file.Exists)
        {
            throw new InvalidInputException($"--strategy: the file '{file.FullName}' does not exist");
        }

        var documents = YamlManifestReader.ReadFile(file.FullName).Where(d => d.Kind == TradingStrategyResource.Kind).ToList();
        var chosen = name is null ? documents : documents.Where(d => d.Name == name).ToList();
        return chosen.Count switch
        {
            1 => TradingStrategyResource.From(chosen[0]),
            0 when name is not null => throw new InvalidInputException($"--name: '{name}' is not a TradingStrategy in {file.Name} (it has: {string.Join(", ", documents.Select(d => d.Name))})"),
            0 => throw new InvalidInputException($"--strategy: {file.Name} holds no TradingStrategy"),
            _ => throw new InvalidInputException($"--strategy: {file.Name} holds {chosen.Count} TradingStrategy resources ({string.Join(", ", chosen.Select(d => d.Name))}); choose one with --name"),
        };
    }

    private static Bar ToBar(CsvBar row, string symbol, Timeframe timeframe, string source)
    {
        if (!timeframe.IsAligned(row.Time))
        {
            throw new CsvInputException(source, row.Line, "date", CsvFormat.Time(row.Time), $"is not the start of a {timeframe} bar; the strategy runs on {timeframe}");
        }

        var v = row.Values;
        return new Bar(symbol, timeframe, row.Time, v.Open, v.High, v.Low, v.Close, v.Volume);
    }

    private static string ToCsv(Signal s) => string.Join(',',
    [
        s.Id, CsvFormat.Time(s.Time), CsvFormat.Time(s.BarTime), s.Strategy, s.Symbol, s.Timeframe.ToString(), s.Direction.ToString().ToUpperInvariant(),
        CsvFormat.Number(s.Strength), CsvFormat.Number(s.Entry), CsvFormat.Number(s.StopLoss), CsvFormat.Number(s.TakeProfit),
        CsvFormat.Number(s.Atr), s.Regime.Trend.ToString(), s.Regime.Volatility.ToString(), CsvFormat.Number(s.Regime.Adx),
        CsvFormat.Number(s.Regime.AtrPercentile), CsvFormat.Number(s.Scores.Momentum), CsvFormat.Number(s.Scores.MeanReversion),
        CsvFormat.Number(s.Scores.Breakout),
    ]);

    private static Table Summary(string strategy, string symbol, List<Bar> bars, List<Signal> signals, Dictionary<SignalOutcome, int> outcomes, FileInfo? output)
    {
        var table = new Table().Title($"{strategy} on {symbol}").AddColumn("").AddColumn(new TableColumn("").RightAligned()).HideHeaders();
        table.AddRow("bars", bars.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (bars.Count > 0)
        {
            table.AddRow("from", CsvFormat.Time(bars[0].OpenTime));
            table.AddRow("to", CsvFormat.Time(bars[^1].OpenTime));
        }

        table.AddRow("signals", signals.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("  buy", signals.Count(s => s.Direction == SignalDirection.Buy).ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("  sell", signals.Count(s => s.Direction == SignalDirection.Sell).ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var (outcome, count) in outcomes.Where(o => o.Key != SignalOutcome.Emitted).OrderBy(o => o.Key))
        {
            table.AddRow($"bars {Describe(outcome)}", count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (output is not null)
        {
            table.AddRow("written to", Markup.Escape(output.FullName));
        }

        return table;
    }

    private static string Describe(SignalOutcome outcome) => outcome switch
    {
        SignalOutcome.WarmingUp => "warming up",
        SignalOutcome.Duplicate => "repeated",
        SignalOutcome.BelowMinStrength => "below minStrength",
        SignalOutcome.OutsideSession => "outside the sessions",
        SignalOutcome.ConfirmationNotReady => "before the confirmation timeframe was ready",
        SignalOutcome.ConfirmationDisagrees => "against the confirmation timeframe",
        SignalOutcome.AlreadySignalled => "already signalled",
        _ => outcome.ToString(),
    };
}
