using System.Globalization;
using System.Text.RegularExpressions;

namespace DistortSignals.Platform.Dapr;

/// <summary>
/// The time formats of reminders and timers (dapr-http-api.md section 3 "Time formats" and pitfall 5): Go
/// durations (<c>1m</c>, <c>0h0m3s0ms</c>), ISO 8601 (<c>PT10S</c>, with an optional repeat count
/// <c>R5/PT1M30S</c>), the Scheduler's <c>@every 24h</c>, and RFC 3339 instants for a due time. We write the
/// .NET SDK's form <c>{h}h{m}m{s}s{ms}ms</c> and read every form the sidecar sends.
/// </summary>
public static partial class DaprDuration
{
    private const string Every = "@every ";

    /// <summary>The SDK's Go duration form, e.g. <c>0h1m30s0ms</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero)
        {
            duration = TimeSpan.Zero;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{(long)duration.TotalHours}h{duration.Minutes}m{duration.Seconds}s{duration.Milliseconds}ms");
    }

    /// <summary>A period: empty means "fires once" (zero); <paramref name="repetitions"/> is the ISO 8601 <c>R&lt;n&gt;/</c> count when given.</summary>
    public static TimeSpan ParsePeriod(string? text, out int? repetitions)
    {
        repetitions = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return TimeSpan.Zero;
        }

        var value = text.Trim();
        if (value.StartsWith(Every, StringComparison.Ordinal))
        {
            return ParseGo(value[Every.Length..].Trim(), text);
        }

        var repeat = RepeatPattern().Match(value);
        if (repeat.Success)
        {
            repetitions = int.Parse(repeat.Groups[1].Value, CultureInfo.InvariantCulture);
            value = value[repeat.Length..];
        }

        return value.StartsWith('P') ? ParseIso(value, text) : ParseGo(value, text);
    }

    /// <summary>A due time: a duration in any period form, or an RFC 3339 instant (the time until it, at least zero).</summary>
    public static TimeSpan ParseDueTime(string? text, DateTimeOffset now)
    {
        if (!string.IsNullOrWhiteSpace(text) && text.Contains('T', StringComparison.Ordinal) && !text.TrimStart().StartsWith('P')
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at))
        {
            return at > now ? at - now : TimeSpan.Zero;
        }

        return ParsePeriod(text, out _);
    }

    private static TimeSpan ParseGo(string value, string original)
    {
        if (value == "0")
        {
            return TimeSpan.Zero;
        }

        var sign = 1.0;
        if (value.StartsWith('-') || value.StartsWith('+'))
        {
            sign = value[0] == '-' ? -1 : 1;
            value = value[1..];
        }

        var parts = GoPattern().Matches(value);
        if (parts.Count == 0 || parts.Sum(p => p.Length) != value.Length)
        {
            throw new FormatException($"'{original}' is not a Go duration, an ISO 8601 duration or '@every <duration>'");
        }

        var ticks = 0.0;
        foreach (Match part in parts)
        {
            var number = double.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture);
            ticks += number * part.Groups[2].Value switch
            {
                "ns" => TimeSpan.TicksPerMicrosecond / 1000.0,
                "us" or "µs" or "μs" => TimeSpan.TicksPerMicrosecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                var unit => throw new FormatException($"'{original}' has the unknown unit '{unit}'"),
            };
        }

        return TimeSpan.FromTicks((long)Math.Round(sign * ticks));
    }

    private static TimeSpan ParseIso(string value, string original)
    {
        var match = IsoPattern().Match(value);
        if (!match.Success || value == "P" || value.EndsWith('T'))
        {
            throw new FormatException($"'{original}' is not an ISO 8601 duration of weeks, days, hours, minutes and seconds");
        }

        double Part(int group) => match.Groups[group].Success ? double.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        return TimeSpan.FromDays((Part(1) * 7) + Part(2)) + TimeSpan.FromHours(Part(3)) + TimeSpan.FromMinutes(Part(4)) + TimeSpan.FromSeconds(Part(5));
    }

    [GeneratedRegex(@"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")]
    private static partial Regex GoPattern();

    [GeneratedRegex(@"^P(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?:([0-9.]+)H)?(?:([0-9.]+)M)?(?:([0-9.]+)S)?)?$")]
    private static partial Regex IsoPattern();

    [GeneratedRegex("^R([0-9]+)/")]
    private static partial Regex RepeatPattern();
}
