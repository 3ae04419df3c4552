namespace DistortSignals.Core.Market;

/// <summary>The bar lengths the platform builds, all aligned to UTC boundaries.</summary>
public enum Timeframe
{
    M1,
    M5,
    M15,
    M30,
    H1,
    H4,
    D1,
}

public static class TimeframeExtensions
{
    public static TimeSpan Duration(this Timeframe timeframe) => timeframe switch
    {
        Timeframe.M1 => TimeSpan.FromMinutes(1),
        Timeframe.M5 => TimeSpan.FromMinutes(5),
        Timeframe.M15 => TimeSpan.FromMinutes(15),
        Timeframe.M30 => TimeSpan.FromMinutes(30),
        Timeframe.H1 => TimeSpan.FromHours(1),
        Timeframe.H4 => TimeSpan.FromHours(4),
        Timeframe.D1 => TimeSpan.FromDays(1),
        _ => throw new ArgumentOutOfRangeException(nameof(timeframe), timeframe, "unknown timeframe"),
    };

    /// <summary>The open time of the bar of this timeframe that contains <paramref name="time"/> (UTC).</summary>
    public static DateTimeOffset Floor(this Timeframe timeframe, DateTimeOffset time)
    {
        var utc = time.UtcTicks;
        var length = timeframe.Duration().Ticks;
        return new DateTimeOffset(utc - (utc % length), TimeSpan.Zero);
    }

    /// <summary>True when <paramref name="time"/> is the open time of a bar of this timeframe.</summary>
    public static bool IsAligned(this Timeframe timeframe, DateTimeOffset time) => time.UtcTicks % timeframe.Duration().Ticks == 0;

    /// <summary>Parses M1..D1, case-insensitively; null when the text names no timeframe.</summary>
    public static Timeframe? TryParse(string? text) =>
        Enum.TryParse<Timeframe>(text, ignoreCase: true, out var timeframe) && Enum.IsDefined(timeframe) && !int.TryParse(text, out _)
            ? timeframe
            : null;
}
