using System.Text.RegularExpressions;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Core.Validation;

namespace DistortSignals.Core.Accounts;

/// <summary>
/// Checks a BrokerAccount spec. The same rules serve the one-process host and the operator; the CRD schema
/// states them again for the API server. Field names are paths from the resource root.
/// </summary>
public static partial class BrokerAccountValidator
{
    public const int MaxInstruments = 200;
    public const int MinDirectiveTtlSeconds = 5;
    public const int MaxDirectiveTtlSeconds = 86_400;
    public const double MaxPercent = 100;
    public const double MaxExposurePct = 10_000;
    public const int MaxCount = 1000;
    public const int MaxCooldownMinutes = 7 * 24 * 60;
    public const int MaxResetTokenLength = 128;
    public const int MaxSignalAgeSeconds = 7 * 86_400;

    public static IReadOnlyList<ValidationError> Validate(BrokerAccountSpec spec)
    {
        var errors = new List<ValidationError>();
        if (!Enum.IsDefined(spec.Broker))
        {
            errors.Add(new("spec.broker", $"'{spec.Broker}' is not one of MT5, Paper"));
        }

        if (spec.Currency is null || !CurrencyCode().IsMatch(spec.Currency))
        {
            errors.Add(new("spec.currency", $"'{spec.Currency}' is not an ISO 4217 code (three capital letters)"));
        }

        ValidateSecretRef(spec.CredentialsSecretRef, errors);
        ValidateRisk(spec.Risk, errors);
        ValidateInstruments(spec.Instruments, errors);

        if (spec.DirectiveTtlSeconds is < MinDirectiveTtlSeconds or > MaxDirectiveTtlSeconds)
        {
            errors.Add(new("spec.directiveTtlSeconds", $"{spec.DirectiveTtlSeconds} is outside {MinDirectiveTtlSeconds}..{MaxDirectiveTtlSeconds}"));
        }

        if (spec.BreakerResetToken is { Length: > MaxResetTokenLength } token)
        {
            errors.Add(new("spec.breakerResetToken", $"is {token.Length} characters long; at most {MaxResetTokenLength} are allowed"));
        }

        return errors;
    }

    /// <summary>Parses the day-reset time zone; null when the id is unknown to this machine's time zone database.</summary>
    public static TimeZoneInfo? FindTimeZone(string? id) =>
        id is not null && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : null;

    private static void ValidateSecretRef(SecretKeyReference? reference, List<ValidationError> errors)
    {
        if (reference is null)
        {
            errors.Add(new("spec.credentialsSecretRef", "is required: the Secret name and key that hold the EA's API key"));
            return;
        }

        if (!ResourceName.IsValid(reference.Name, 253))
        {
            errors.Add(new("spec.credentialsSecretRef.name", $"'{reference.Name}' is not a Secret name ({ResourceName.Rule(253)})"));
        }

        if (string.IsNullOrEmpty(reference.Key) || !SecretKey().IsMatch(reference.Key))
        {
            errors.Add(new("spec.credentialsSecretRef.key", $"'{reference.Key}' is not a Secret key (letters, digits, '-', '_' and '.')"));
        }
    }

    private static void ValidateRisk(RiskLimits risk, List<ValidationError> errors)
    {
        Percent(errors, "spec.risk.riskPerTradePct", risk.RiskPerTradePct, MaxPercent);
        Percent(errors, "spec.risk.maxDailyLossPct", risk.MaxDailyLossPct, MaxPercent);
        Percent(errors, "spec.risk.maxWeeklyLossPct", risk.MaxWeeklyLossPct, MaxPercent);
        Percent(errors, "spec.risk.maxDrawdownPct", risk.MaxDrawdownPct, MaxPercent);
        Percent(errors, "spec.risk.maxExposurePct", risk.MaxExposurePct, MaxExposurePct);
        Count(errors, "spec.risk.maxConsecutiveLosses", risk.MaxConsecutiveLosses, 1, MaxCount);
        Count(errors, "spec.risk.cooldownMinutes", risk.CooldownMinutes, 0, MaxCooldownMinutes);
        Count(errors, "spec.risk.maxBrokerErrors", risk.MaxBrokerErrors, 1, MaxCount);
        Count(errors, "spec.risk.maxOpenPositions", risk.MaxOpenPositions, 1, MaxCount);
        if (risk.MaxSignalAgeSeconds is { } maxSignalAge)
        {
            Count(errors, "spec.risk.maxSignalAgeSeconds", maxSignalAge, 0, MaxSignalAgeSeconds);
        }

        if (!Enum.IsDefined(risk.Sizing))
        {
            errors.Add(new("spec.risk.sizing", $"'{risk.Sizing}' is not one of FixedFractional, Kelly, VolatilityAdjusted"));
        }

        if (!(risk.KellyFraction > 0 && risk.KellyFraction <= 1))
        {
            errors.Add(new("spec.risk.kellyFraction", $"{ValidationRules.Format(risk.KellyFraction)} must be above 0 and at most 1"));
        }

        if (TradingStrategyValidator.ParseSessionTime(risk.DayReset.Time) is null)
        {
            errors.Add(new("spec.risk.dayReset.time", $"'{risk.DayReset.Time}' is not a time of day as HH:mm (24-hour)"));
        }

        if (FindTimeZone(risk.DayReset.TimeZone) is null)
        {
            errors.Add(new("spec.risk.dayReset.timeZone", $"'{risk.DayReset.TimeZone}' is not a known IANA time zone id"));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < risk.CorrelationGroups.Count; i++)
        {
            var group = risk.CorrelationGroups[i];
            var path = $"spec.risk.correlationGroups[{i}]";
            if (!ResourceName.IsValid(group.Name))
            {
                errors.Add(new(path + ".name", $"'{group.Name}' is not a valid name ({ResourceName.Rule()})"));
            }
            else if (!names.Add(group.Name))
            {
                errors.Add(new(path + ".name", $"'{group.Name}' is used by two groups"));
            }

            if (group.Symbols.Count < 2)
            {
                errors.Add(new(path + ".symbols", $"has {group.Symbols.Count} entries; a group needs at least 2"));
            }

            for (var j = 0; j < group.Symbols.Count; j++)
            {
                MarketValidation.ValidateSymbol(errors, $"{path}.symbols[{j}]", group.Symbols[j]);
            }

            Percent(errors, path + ".maxExposurePct", group.MaxExposurePct, MaxExposurePct);
        }
    }

    private static void ValidateInstruments(IReadOnlyList<InstrumentSpec> instruments, List<ValidationError> errors)
    {
        if (instruments.Count > MaxInstruments)
        {
            errors.Add(new("spec.instruments", $"has {instruments.Count} entries; at most {MaxInstruments} are allowed"));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < instruments.Count; i++)
        {
            var instrument = instruments[i];
            var path = $"spec.instruments[{i}]";
            if (MarketValidation.ValidateSymbol(errors, path + ".symbol", instrument.Symbol) && !seen.Add(instrument.Symbol))
            {
                errors.Add(new(path + ".symbol", $"'{instrument.Symbol}' is listed twice"));
            }

            ValidationRules.Positive(errors, path + ".contractSize", instrument.ContractSize);
            ValidationRules.Positive(errors, path + ".pipSize", instrument.PipSize);
            ValidationRules.Positive(errors, path + ".pipValuePerLot", instrument.PipValuePerLot);
            var lotsValid = ValidationRules.Positive(errors, path + ".minLot", instrument.MinLot)
                & ValidationRules.Positive(errors, path + ".lotStep", instrument.LotStep)
                & ValidationRules.Positive(errors, path + ".maxLot", instrument.MaxLot);
            if (lotsValid && instrument.MaxLot < instrument.MinLot)
            {
                errors.Add(new(path + ".maxLot", $"{ValidationRules.Format(instrument.MaxLot)} is below minLot {ValidationRules.Format(instrument.MinLot)}"));
            }

            if (instrument.Digits is < 0 or > Instrument.MaxDigits)
            {
                errors.Add(new(path + ".digits", $"{instrument.Digits} is outside 0..{Instrument.MaxDigits}"));
            }
        }
    }

    private static void Percent(List<ValidationError> errors, string field, double value, double max)
    {
        if (!(value > 0 && value <= max))
        {
            errors.Add(new(field, $"{ValidationRules.Format(value)} must be above 0 and at most {ValidationRules.Format(max)}"));
        }
    }

    private static void Count(List<ValidationError> errors, string field, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add(new(field, $"{value} is outside {min}..{max}"));
        }
    }

    [GeneratedRegex("^[A-Z]{3}$")]
    private static partial Regex CurrencyCode();

    [GeneratedRegex("^[-._a-zA-Z0-9]+$")]
    private static partial Regex SecretKey();
}
