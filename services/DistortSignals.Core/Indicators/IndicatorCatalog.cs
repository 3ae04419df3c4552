using System.Globalization;

namespace DistortSignals.Core.Indicators;

/// <summary>Creates indicators from IDs such as <c>RSI(14)</c>, as typed on the command line.</summary>
public static class IndicatorCatalog
{
    private static readonly Entry[] Entries =
    [
        new("SMA", [Required("period")], p => new Sma((int)p[0])),
        new("EMA", [Required("period")], p => new Ema((int)p[0])),
        new("RSI", [Integer("period", 14)], p => new Rsi((int)p[0])),
        new("MACD", [Integer("fast", 12), Integer("slow", 26), Integer("signal", 9)], p => new Macd((int)p[0], (int)p[1], (int)p[2])),
        new("BB", [Integer("period", 20), Real("multiplier", 2)], p => new BollingerBands((int)p[0], p[1])),
        new("ATR", [Integer("period", 14)], p => new Atr((int)p[0])),
        new("ADX", [Integer("period", 14)], p => new Adx((int)p[0])),
        new("STOCH", [Integer("lookback", 14), Integer("signal", 3), Integer("smooth", 3)], p => new Stochastic((int)p[0], (int)p[1], (int)p[2])),
        new("WILLR", [Integer("period", 14)], p => new WilliamsR((int)p[0])),
        new("CCI", [Integer("period", 20)], p => new Cci((int)p[0])),
        new("OBV", [], _ => new Obv()),
        new("DONCHIAN", [Integer("period", 20)], p => new Donchian((int)p[0])),
        new("KELTNER", [Integer("emaPeriod", 20), Real("multiplier", 2), Integer("atrPeriod", 10)], p => new Keltner((int)p[0], p[1], (int)p[2])),
        new("SUPERTREND", [Integer("atrPeriod", 10), Real("multiplier", 3)], p => new SuperTrend((int)p[0], p[1])),
        new("VWAP", [], _ => new Vwap()),
    ];

    /// <summary>Every indicator with its parameters, for example <c>RSI(period)</c>.</summary>
    public static IReadOnlyList<string> Known { get; } = Array.ConvertAll(Entries, e => e.Usage);

    /// <summary>
    /// Parses an ID (case-insensitive, whitespace tolerated, trailing parameters optional where they have
    /// defaults) and returns a new indicator.
    /// </summary>
    /// <exception cref="FormatException">The ID is malformed, unknown, or its parameters are invalid.</exception>
    public static IIndicator Create(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var text = id.Trim();
        if (text.Length == 0)
        {
            throw new FormatException($"empty indicator ID; known: {string.Join(", ", Known)}");
        }

        var open = text.IndexOf('(', StringComparison.Ordinal);
        var name = (open < 0 ? text : text[..open]).Trim();
        var entry = Array.Find(Entries, e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new FormatException($"unknown indicator '{text}'; known: {string.Join(", ", Known)}");

        string[] arguments = [];
        if (open >= 0)
        {
            if (text[^1] != ')')
            {
                throw new FormatException($"{text}: expected ')' at the end");
            }

            var inside = text[(open + 1)..^1];
            if (inside.Contains('(', StringComparison.Ordinal) || inside.Contains(')', StringComparison.Ordinal))
            {
                throw new FormatException($"{text}: unbalanced parentheses");
            }

            arguments = inside.Trim().Length == 0 ? [] : inside.Split(',');
        }

        var parameters = entry.Parameters;
        if (arguments.Length > parameters.Length)
        {
            throw new FormatException(
                $"{text}: {entry.Name} takes {(parameters.Length == 0 ? "no parameters" : $"at most {parameters.Length} parameter{(parameters.Length == 1 ? "" : "s")} ({entry.Usage})")}, got {arguments.Length}");
        }

        var values = new double[parameters.Length];
        for (var i = 0; i < parameters.Length; i++)
        {
            values[i] = i < arguments.Length
                ? parameters[i].Parse(arguments[i].Trim(), text)
                : parameters[i].Default ?? throw new FormatException($"{text}: missing parameter {parameters[i].Name} ({entry.Usage})");
        }

        try
        {
            return entry.Create(values);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new FormatException($"{text}: {Reason(ex)}", ex);
        }
    }

    /// <summary>The constructor's own message, without the parameter-name and actual-value suffixes .NET appends.</summary>
    private static string Reason(ArgumentOutOfRangeException ex)
    {
        var message = ex.Message;
        var suffix = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return suffix < 0 ? message : message[..suffix];
    }

    private static Parameter Required(string name) => new(name, IsInteger: true, Default: null);

    private static Parameter Integer(string name, int defaultValue) => new(name, IsInteger: true, defaultValue);

    private static Parameter Real(string name, double defaultValue) => new(name, IsInteger: false, defaultValue);

    private sealed record Parameter(string Name, bool IsInteger, double? Default)
    {
        public double Parse(string argument, string text)
        {
            if (argument.Length == 0)
            {
                throw new FormatException($"{text}: parameter {Name} is empty");
            }

            if (IsInteger)
            {
                return int.TryParse(argument, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)
                    ? integer
                    : throw new FormatException($"{text}: {Name} must be an integer, got '{argument}'");
            }

            return double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real)
                ? real
                : throw new FormatException($"{text}: {Name} must be a number, got '{argument}'");
        }
    }

    private sealed record Entry(string Name, Parameter[] Parameters, Func<double[], IIndicator> Create)
    {
        public string Usage { get; } = Parameters.Length == 0
            ? Name
            : $"{Name}({string.Join(", ", Array.ConvertAll(Parameters, p => p.Name))})";
    }
}
