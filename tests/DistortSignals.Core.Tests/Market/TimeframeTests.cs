using System.Globalization;
using DistortSignals.Core.Market;

namespace DistortSignals.Core.Tests.Market;

public class TimeframeTests
{
    private static DateTimeOffset T(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(Timeframe.M1, "2024-03-15T13:47:00Z")]
    [InlineData(Timeframe.M5, "2024-03-15T13:45:00Z")]
    [InlineData(Timeframe.M15, "2024-03-15T13:45:00Z")]
    [InlineData(Timeframe.M30, "2024-03-15T13:30:00Z")]
    [InlineData(Timeframe.H1, "2024-03-15T13:00:00Z")]
    [InlineData(Timeframe.H4, "2024-03-15T12:00:00Z")]
    [InlineData(Timeframe.D1, "2024-03-15T00:00:00Z")]
    public void Floor_gives_the_open_time_of_the_containing_bar(Timeframe timeframe, string expected)
    {
        var floor = timeframe.Floor(T("2024-03-15T13:47:29.5Z"));

        Assert.Equal(T(expected), floor);
        Assert.Equal(TimeSpan.Zero, floor.Offset);
    }

    [Theory]
    [InlineData("2024-03-15T00:00:00Z", "2024-03-15T00:00:00Z")]
    [InlineData("2024-03-15T03:59:59.9999999Z", "2024-03-15T00:00:00Z")]
    [InlineData("2024-03-15T04:00:00Z", "2024-03-15T04:00:00Z")]
    [InlineData("2024-03-15T15:59:59Z", "2024-03-15T12:00:00Z")]
    [InlineData("2024-03-15T16:00:00Z", "2024-03-15T16:00:00Z")]
    [InlineData("2024-03-15T23:59:59Z", "2024-03-15T20:00:00Z")]
    public void H4_bars_start_at_multiples_of_four_hours_from_midnight_UTC(string time, string expected)
    {
        Assert.Equal(T(expected), Timeframe.H4.Floor(T(time)));
    }

    [Theory]
    [InlineData("2024-03-15T00:00:00Z", "2024-03-15T00:00:00Z")]
    [InlineData("2024-03-15T23:59:59.9999999Z", "2024-03-15T00:00:00Z")]
    [InlineData("2024-03-16T00:00:00Z", "2024-03-16T00:00:00Z")]
    [InlineData("2024-02-29T12:00:00Z", "2024-02-29T00:00:00Z")]
    public void D1_bars_start_at_midnight_UTC(string time, string expected)
    {
        Assert.Equal(T(expected), Timeframe.D1.Floor(T(time)));
    }

    [Fact]
    public void Floor_uses_the_UTC_instant_of_a_time_with_an_offset()
    {
        // 01:30 at +02:00 is 23:30 UTC on the previous day.
        Assert.Equal(T("2024-03-14T00:00:00Z"), Timeframe.D1.Floor(T("2024-03-15T01:30:00+02:00")));
        Assert.Equal(T("2024-03-14T20:00:00Z"), Timeframe.H4.Floor(T("2024-03-15T01:30:00+02:00")));
    }

    [Fact]
    public void A_minute_start_is_its_own_floor_and_the_last_instant_before_it_belongs_to_the_previous_minute()
    {
        Assert.Equal(T("2024-03-15T10:01:00Z"), Timeframe.M1.Floor(T("2024-03-15T10:01:00Z")));
        Assert.Equal(T("2024-03-15T10:00:00Z"), Timeframe.M1.Floor(T("2024-03-15T10:00:59.999Z")));
    }

    [Theory]
    [InlineData(Timeframe.M1, "2024-03-15T13:47:00Z", true)]
    [InlineData(Timeframe.M1, "2024-03-15T13:47:30Z", false)]
    [InlineData(Timeframe.M5, "2024-03-15T13:45:00Z", true)]
    [InlineData(Timeframe.M5, "2024-03-15T13:47:00Z", false)]
    [InlineData(Timeframe.M15, "2024-03-15T13:30:00Z", true)]
    [InlineData(Timeframe.M15, "2024-03-15T13:40:00Z", false)]
    [InlineData(Timeframe.M30, "2024-03-15T13:30:00Z", true)]
    [InlineData(Timeframe.M30, "2024-03-15T13:15:00Z", false)]
    [InlineData(Timeframe.H1, "2024-03-15T13:00:00Z", true)]
    [InlineData(Timeframe.H1, "2024-03-15T13:00:00.001Z", false)]
    [InlineData(Timeframe.H4, "2024-03-15T20:00:00Z", true)]
    [InlineData(Timeframe.H4, "2024-03-15T13:00:00Z", false)]
    [InlineData(Timeframe.D1, "2024-03-15T00:00:00Z", true)]
    [InlineData(Timeframe.D1, "2024-03-15T04:00:00Z", false)]
    public void IsAligned_is_true_only_at_bar_open_times(Timeframe timeframe, string time, bool expected)
    {
        Assert.Equal(expected, timeframe.IsAligned(T(time)));
    }

    [Theory]
    [InlineData("M1", Timeframe.M1)]
    [InlineData("m5", Timeframe.M5)]
    [InlineData("M15", Timeframe.M15)]
    [InlineData("m30", Timeframe.M30)]
    [InlineData("H1", Timeframe.H1)]
    [InlineData("h4", Timeframe.H4)]
    [InlineData("D1", Timeframe.D1)]
    public void TryParse_reads_every_timeframe_case_insensitively(string text, Timeframe expected)
    {
        Assert.Equal(expected, TimeframeExtensions.TryParse(text));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("W1")]
    [InlineData("M2")]
    [InlineData("0")]
    [InlineData("6")]
    [InlineData("minute")]
    public void TryParse_gives_null_for_text_that_names_no_timeframe(string? text)
    {
        Assert.Null(TimeframeExtensions.TryParse(text));
    }
}
