using System.Globalization;
using DistortSignals.Core.Market;
using DistortSignals.Core.Validation;

namespace DistortSignals.Core.Strategies;

/// <summary>
/// Checks a TradingStrategy spec. The same rules serve the one-process host and the operator; the
/// CRD schema states them again for the API server. Field names are paths from the resource root.
/// </summary>
public static class TradingStrategyValidator
{
    public const int MaxSymbols = 50;
    public const int MaxPeriod = 1000;
    public const int MaxReplicas = 10;
    public const int MinPeriod = 2;
    public const double MaxExitMultiple = 20;
    public const double MaxBollingerStdDev = 10;

    public static IReadOnlyList<ValidationError> Validate(TradingStrategySpec spec)
    {
        var errors = new List<ValidationError>();
        ValidateSymbols(spec.Symbols, errors);

        if (!Enum.IsDefined(spec.Timeframe))
        {
            errors.Add(new("spec.timeframe", $"'{spec.Timeframe}' is not one of M1, M5, M15, M30, H1, H4, D1"));
        }

        if (spec.ConfirmTimeframe is { } confirm && confirm <= spec.Timeframe)
        {
            errors.Add(new("spec.confirmTimeframe", $"{confirm} must be a higher timeframe than spec.timeframe {spec.Timeframe}"));
        }

        var weights = spec.Weights;
        var weightsValid = Range(errors, "spec.weights.momentum", weights.Momentum, 0, 1)
            & Range(errors, "spec.weights.meanReversion", weights.MeanReversion, 0, 1)
            & Range(errors, "spec.weights.breakout", weights.Breakout, 0, 1);
        if (weightsValid && !(weights.Sum > 0))
        {
            errors.Add(new("spec.weights", "at least one of momentum, meanReversion and breakout must be above 0"));
        }

        Range(errors, "spec.minStrength", spec.MinStrength, 0, 1);
        ValidateIndicators(spec.Indicators, errors);
        Positive(errors, "spec.exits.stopAtr", spec.Exits.StopAtr, MaxExitMultiple);
        Positive(errors, "spec.exits.rewardRisk", spec.Exits.RewardRisk, MaxExitMultiple);

        for (var i = 0; i < spec.Sessions.Count; i++)
        {
            var session = spec.Sessions[i];
            var path = $"spec.sessions[{i}]";
            var start = SessionTime(errors, path + ".start", session.Start);
            var end = SessionTime(errors, path + ".end", session.End);
            if (start is not null && start == end)
            {
                errors.Add(new(path, $"start and end are both {session.Start}: the window would be empty"));
            }
        }

        for (var i = 0; i < spec.Accounts.Count; i++)
        {
            if (!ResourceName.IsValid(spec.Accounts[i]))
            {
                errors.Add(new($"spec.accounts[{i}]", $"'{spec.Accounts[i]}' is not a BrokerAccount name ({ResourceName.Rule()})"));
            }
        }

        if (spec.Replicas is < 0 or > MaxReplicas)
        {
            errors.Add(new("spec.replicas", $"{spec.Replicas} is outside 0..{MaxReplicas}"));
        }

        return errors;
    }

    /// <summary>Parses "HH:mm" (24-hour, UTC) into a time of day; null when it is not one.</summary>
    public static TimeSpan? ParseSessionTime(string? text) =>
        TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
            ? time.ToTimeSpan()
            : null;

    private static void ValidateSymbols(IReadOnlyList<string> symbols, List<ValidationError> errors)
    {
        if (symbols.Count is 0 or > MaxSymbols)
        {
            errors.Add(new("spec.symbols", $"has {symbols.Count} entries; between 1 and {MaxSymbols} are required"));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < symbols.Count; i++)
        {
            var symbol = symbols[i];
            if (MarketValidation.ValidateSymbol(errors, $"spec.symbols[{i}]", symbol) && !seen.Add(symbol!))
            {
                errors.Add(new($"spec.symbols[{i}]", $"'{symbol}' is listed twice"));
            }
        }
    }

    private static void ValidateIndicators(IndicatorPeriods periods, List<ValidationError> errors)
    {
        Period(errors, "spec.indicators.emaFast", periods.EmaFast);
        Period(errors, "spec.indicators.emaSlow", periods.EmaSlow);
        if (periods.EmaFast >= periods.EmaSlow)
        {
            errors.Add(new("spec.indicators.emaFast", $"{periods.EmaFast} must be below spec.indicators.emaSlow {periods.EmaSlow}"));
        }

        Period(errors, "spec.indicators.rsi", periods.Rsi);
        Period(errors, "spec.indicators.bollinger", periods.Bollinger);
        Positive(errors, "spec.indicators.bollingerStdDev", periods.BollingerStdDev, MaxBollingerStdDev);
        Period(errors, "spec.indicators.atr", periods.Atr);
        Period(errors, "spec.indicators.adx", periods.Adx);
        Period(errors, "spec.indicators.donchian", periods.Donchian);
        Period(errors, "spec.indicators.volume", periods.Volume);
        Period(errors, "spec.indicators.atrPercentile", periods.AtrPercentile);
    }

    private static void Period(List<ValidationError> errors, string field, int value)
    {
        if (value is < MinPeriod or > MaxPeriod)
        {
            errors.Add(new(field, $"{value} is outside {MinPeriod}..{MaxPeriod}"));
        }
    }

    private static bool Range(List<ValidationError> errors, string field, double value, double min, double max)
    {
        if (value >= min && value <= max)
        {
            return true;
        }

        errors.Add(new(field, $"{Format(value)} is outside {Format(min)}..{Format(max)}"));
        return false;
    }

    private static void Positive(List<ValidationError> errors, string field, double value, double max)
    {
        if (!(value > 0 && value <= max))
        {
            errors.Add(new(field, $"{Format(value)} must be above 0 and at most {Format(max)}"));
        }
    }

    private static TimeSpan? SessionTime(List<ValidationError> errors, string field, string? text)
    {
        var time = ParseSessionTime(text);
        if (time is null)
        {
            errors.Add(new(field, $"'{text}' is not a time of day as HH:mm (UTC, 24-hour)"));
        }

        return time;
    }

    private static string Format(double value) => ValidationRules.Format(value);
}
