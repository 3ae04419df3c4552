using DistortSignals.Core.Accounts;
using DistortSignals.Core.Strategies;

namespace DistortSignals.Core.Risk;

/// <summary>
/// The daily and weekly loss windows. A trading day starts at the account's day-reset time in its time zone
/// (default 17:00 America/New_York, the FX convention); a trading week starts at the day reset of Sunday, local
/// date, so with the default it runs from Sunday 17:00 New York time to the next Sunday 17:00. Times are
/// converted with the zone's rules, so across a daylight-saving change the reset stays at 17:00 local and
/// moves by an hour in UTC. A reset time that does not exist locally (in the spring gap) is taken an hour later.
/// </summary>
public sealed class RiskWindows
{
    private readonly TimeZoneInfo _zone;
    private readonly TimeSpan _time;

    public RiskWindows(DayReset reset)
    {
        _zone = BrokerAccountValidator.FindTimeZone(reset.TimeZone)
            ?? throw new ArgumentException($"dayReset.timeZone: '{reset.TimeZone}' is not a known IANA time zone id", nameof(reset));
        _time = TradingStrategyValidator.ParseSessionTime(reset.Time)
            ?? throw new ArgumentException($"dayReset.time: '{reset.Time}' is not a time of day as HH:mm", nameof(reset));
    }

    /// <summary>The start of the trading day that contains <paramref name="now"/>.</summary>
    public DateTimeOffset DayStart(DateTimeOffset now)
    {
        var date = LocalDate(now);
        var reset = ResetOn(date);
        return reset <= now ? reset : ResetOn(date.AddDays(-1));
    }

    /// <summary>The first day reset after <paramref name="now"/>.</summary>
    public DateTimeOffset NextDayReset(DateTimeOffset now)
    {
        var date = LocalDate(now);
        var reset = ResetOn(date);
        return reset > now ? reset : ResetOn(date.AddDays(1));
    }

    /// <summary>The start of the trading week that contains <paramref name="now"/>: the latest Sunday day reset.</summary>
    public DateTimeOffset WeekStart(DateTimeOffset now)
    {
        var date = LocalDate(now);
        var sunday = date.AddDays(-(int)date.DayOfWeek);
        var reset = ResetOn(sunday);
        return reset <= now ? reset : ResetOn(sunday.AddDays(-7));
    }

    public DateTimeOffset NextWeekReset(DateTimeOffset now) => ResetOn(LocalDate(WeekStart(now)).AddDays(7));

    /// <summary>The calendar date in the account's time zone (used for the PDT business days).</summary>
    public DateOnly LocalDate(DateTimeOffset time) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(time, _zone).DateTime);

    private DateTimeOffset ResetOn(DateOnly date)
    {
        var local = date.ToDateTime(TimeOnly.FromTimeSpan(_time), DateTimeKind.Unspecified);
        if (_zone.IsInvalidTime(local))
        {
            local = local.AddHours(1);
        }

        // An ambiguous time (the autumn repeat) takes the first, daylight, occurrence.
        var offset = _zone.IsAmbiguousTime(local) ? _zone.GetAmbiguousTimeOffsets(local).Max() : _zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset).ToUniversalTime();
    }
}
