using DistortSignals.Core.Accounts;
using DistortSignals.Core.Risk;

namespace DistortSignals.Core.Tests.Risk;

/// <summary>
/// The day and week windows at 17:00 America/New_York across the 2026 changes: EST (UTC-5) until Sunday
/// 8 March 02:00, EDT (UTC-4) until Sunday 1 November 02:00. 17:00 is 22:00Z in EST and 21:00Z in EDT.
/// </summary>
public sealed class RiskWindowsTests
{
    private static readonly RiskWindows NewYork = new(new DayReset());

    [Theory]
    [InlineData("2026-03-06T23:00:00Z", "2026-03-06T22:00:00Z")] // Friday evening, EST
    [InlineData("2026-03-08T20:59:00Z", "2026-03-07T22:00:00Z")] // Sunday 16:59 EDT: still Saturday's day, which began at 17:00 EST
    [InlineData("2026-03-08T21:00:00Z", "2026-03-08T21:00:00Z")] // Sunday 17:00 EDT: the first reset after the change is an hour earlier in UTC
    [InlineData("2026-03-08T21:59:00Z", "2026-03-08T21:00:00Z")] // would still be Saturday's day under EST
    [InlineData("2026-10-31T21:00:00Z", "2026-10-31T21:00:00Z")] // Saturday 17:00 EDT
    [InlineData("2026-11-01T21:30:00Z", "2026-10-31T21:00:00Z")] // Sunday 16:30 EST: the reset is now 22:00Z
    [InlineData("2026-11-01T22:00:00Z", "2026-11-01T22:00:00Z")]
    public void The_day_starts_at_17_00_New_York_time_on_both_sides_of_a_change(string now, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected), NewYork.DayStart(DateTimeOffset.Parse(now)));

    [Theory]
    [InlineData("2026-03-08T12:00:00Z", "2026-03-08T21:00:00Z")] // the morning of the change: the next reset is 17:00 EDT
    [InlineData("2026-03-07T22:00:00Z", "2026-03-08T21:00:00Z")] // a reset instant: the next one is 23 hours later
    [InlineData("2026-10-31T21:00:00Z", "2026-11-01T22:00:00Z")] // and 25 hours across the November change
    public void The_next_day_reset_follows_the_local_clock(string now, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected), NewYork.NextDayReset(DateTimeOffset.Parse(now)));

    [Theory]
    [InlineData("2026-03-11T12:00:00Z", "2026-03-08T21:00:00Z")] // Wednesday: the week began Sunday 17:00 EDT
    [InlineData("2026-03-08T20:59:00Z", "2026-03-01T22:00:00Z")] // Sunday before the reset: last Sunday 17:00 EST
    [InlineData("2026-03-07T12:00:00Z", "2026-03-01T22:00:00Z")] // Saturday
    [InlineData("2026-11-01T22:00:00Z", "2026-11-01T22:00:00Z")]
    public void The_week_starts_at_the_Sunday_reset(string now, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected), NewYork.WeekStart(DateTimeOffset.Parse(now)));

    [Fact]
    public void The_week_across_the_March_change_lasts_167_hours()
    {
        var next = NewYork.NextWeekReset(DateTimeOffset.Parse("2026-03-04T12:00:00Z"));

        Assert.Equal(DateTimeOffset.Parse("2026-03-08T21:00:00Z"), next);
        Assert.Equal(TimeSpan.FromHours(167), next - NewYork.WeekStart(DateTimeOffset.Parse("2026-03-04T12:00:00Z")));
    }

    [Fact]
    public void A_reset_time_in_the_spring_gap_is_taken_an_hour_later()
    {
        var windows = new RiskWindows(new DayReset { Time = "02:30" });

        // 02:30 does not exist on 8 March 2026 in New York; 03:30 EDT is 07:30Z.
        Assert.Equal(DateTimeOffset.Parse("2026-03-08T07:30:00Z"), windows.DayStart(DateTimeOffset.Parse("2026-03-08T12:00:00Z")));
    }

    [Fact]
    public void An_unknown_time_zone_is_refused_with_the_field()
    {
        var error = Assert.Throws<ArgumentException>(() => new RiskWindows(new DayReset { TimeZone = "Mars/Olympus" }));

        Assert.Contains("dayReset.timeZone: 'Mars/Olympus'", error.Message);
    }
}
