using DistortSignals.Core.Indicators;
using DistortSignals.Core.Validation;

namespace DistortSignals.Core.Market;

/// <summary>
/// The rules a tick, bar or instrument must satisfy before anything uses it. Every method returns all
/// broken rules (an empty list when valid), each naming the field and quoting the value.
/// </summary>
public static class MarketValidation
{
    public const int MaxSymbolLength = 32;

    /// <summary>The characters <see cref="ValidateSymbol"/> allows, for the CRD schema.</summary>
    public const string SymbolPattern = "^[A-Z0-9._/-]+$";

    public static IReadOnlyList<ValidationError> Validate(Tick tick)
    {
        ArgumentNullException.ThrowIfNull(tick);
        var errors = new List<ValidationError>();
        ValidateSymbol(errors, "symbol", tick.Symbol);
        ValidationRules.Utc(errors, "time", tick.Time);

        var bidOk = tick.Bid is { } bid && ValidationRules.Positive(errors, "bid", bid);
        var askOk = tick.Ask is { } ask && ValidationRules.Positive(errors, "ask", ask);
        if (tick.Last is { } last)
        {
            ValidationRules.Positive(errors, "last", last);
        }

        if (tick.Bid is null && tick.Ask is { } onlyAsk)
        {
            errors.Add(new ValidationError("bid", $"missing while ask is {ValidationRules.Format(onlyAsk)}; bid and ask come together"));
        }
        else if (tick.Ask is null && tick.Bid is { } onlyBid)
        {
            errors.Add(new ValidationError("ask", $"missing while bid is {ValidationRules.Format(onlyBid)}; bid and ask come together"));
        }
        else if (tick.Bid is null && tick.Last is null)
        {
            errors.Add(new ValidationError("last", "missing, and so are bid and ask; a tick needs bid and ask, or last"));
        }

        if (bidOk && askOk && tick.Bid > tick.Ask)
        {
            errors.Add(new ValidationError("bid", $"{ValidationRules.Format(tick.Bid!.Value)} is above ask {ValidationRules.Format(tick.Ask!.Value)}"));
        }

        ValidationRules.NonNegative(errors, "volume", tick.Volume);
        return errors;
    }

    public static IReadOnlyList<ValidationError> Validate(Bar bar)
    {
        ArgumentNullException.ThrowIfNull(bar);
        var errors = new List<ValidationError>();
        ValidateSymbol(errors, "symbol", bar.Symbol);

        var timeframeOk = Enum.IsDefined(bar.Timeframe);
        if (!timeframeOk)
        {
            errors.Add(new ValidationError("timeframe", $"{(int)bar.Timeframe} is not a known timeframe"));
        }

        if (ValidationRules.Utc(errors, "time", bar.OpenTime) && timeframeOk && !bar.Timeframe.IsAligned(bar.OpenTime))
        {
            errors.Add(new ValidationError("time", $"{ValidationRules.Format(bar.OpenTime)} is not aligned to {bar.Timeframe}"));
        }

        ValidatePrices(errors, bar.ToOhlcv());
        if (bar.TickCount < 0)
        {
            errors.Add(new ValidationError("tickCount", $"{bar.TickCount} is negative"));
        }

        return errors;
    }

    /// <summary>
    /// The price and volume rules of a bar: positive finite prices, a high and low that contain the open
    /// and close, and a volume of at least zero. For callers that have prices without a bar around them.
    /// </summary>
    public static void ValidatePrices(ICollection<ValidationError> errors, Ohlcv bar)
    {
        // Non-short-circuit & so that every bad price is reported, not just the first.
        var pricesOk = ValidationRules.Positive(errors, "open", bar.Open)
            & ValidationRules.Positive(errors, "high", bar.High)
            & ValidationRules.Positive(errors, "low", bar.Low)
            & ValidationRules.Positive(errors, "close", bar.Close);
        if (pricesOk)
        {
            var bodyHigh = Math.Max(bar.Open, bar.Close);
            var bodyLow = Math.Min(bar.Open, bar.Close);
            if (bar.High < bodyHigh)
            {
                errors.Add(new ValidationError("high", $"{ValidationRules.Format(bar.High)} is below max(open, close) = {ValidationRules.Format(bodyHigh)}"));
            }

            if (bar.Low > bodyLow)
            {
                errors.Add(new ValidationError("low", $"{ValidationRules.Format(bar.Low)} is above min(open, close) = {ValidationRules.Format(bodyLow)}"));
            }

            if (bar.High < bar.Low)
            {
                errors.Add(new ValidationError("high", $"{ValidationRules.Format(bar.High)} is below low {ValidationRules.Format(bar.Low)}"));
            }
        }

        ValidationRules.NonNegative(errors, "volume", bar.Volume);
    }

    public static IReadOnlyList<ValidationError> Validate(Instrument instrument)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        var errors = new List<ValidationError>();
        ValidateSymbol(errors, "symbol", instrument.Symbol);
        ValidationRules.Positive(errors, "contractSize", instrument.ContractSize);
        ValidationRules.Positive(errors, "pipValuePerLot", instrument.PipValuePerLot);
        ValidationRules.Positive(errors, "lotStep", instrument.LotStep);
        var minOk = ValidationRules.Positive(errors, "minLot", instrument.MinLot);
        var maxOk = ValidationRules.Positive(errors, "maxLot", instrument.MaxLot);
        if (minOk && maxOk && instrument.MinLot > instrument.MaxLot)
        {
            errors.Add(new ValidationError("minLot", $"{ValidationRules.Format(instrument.MinLot)} is above maxLot {ValidationRules.Format(instrument.MaxLot)}"));
        }

        var digitsOk = instrument.Digits is >= 0 and <= Instrument.MaxDigits;
        if (!digitsOk)
        {
            errors.Add(new ValidationError("digits", $"{instrument.Digits} is outside 0..{Instrument.MaxDigits}"));
        }

        // A pip finer than the quote's last digit cannot be priced; it usually means digits and pipSize were swapped.
        if (ValidationRules.Positive(errors, "pipSize", instrument.PipSize) && digitsOk && instrument.PipSize < instrument.Point)
        {
            errors.Add(new ValidationError("pipSize", $"{ValidationRules.Format(instrument.PipSize)} is below one point {ValidationRules.Format(instrument.Point)} (digits {instrument.Digits})"));
        }

        return errors;
    }

    /// <summary>Non-empty, at most <see cref="MaxSymbolLength"/> characters of A-Z, 0-9, '.', '_', '-', '/'.</summary>
    public static bool ValidateSymbol(ICollection<ValidationError> errors, string field, string? symbol)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (string.IsNullOrEmpty(symbol))
        {
            errors.Add(new ValidationError(field, symbol is null ? "null is missing" : "\"\" is empty"));
            return false;
        }

        if (symbol.Length > MaxSymbolLength)
        {
            errors.Add(new ValidationError(field, $"\"{symbol}\" is {symbol.Length} characters, at most {MaxSymbolLength} are allowed"));
            return false;
        }

        for (var i = 0; i < symbol.Length; i++)
        {
            if (!IsSymbolChar(symbol[i]))
            {
                errors.Add(new ValidationError(field, $"\"{symbol}\" has '{symbol[i]}' at position {i}; allowed are A-Z, 0-9, '.', '_', '-', '/'"));
                return false;
            }
        }

        return true;
    }

    private static bool IsSymbolChar(char c) => c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-' or '/';
}
