using DistortSignals.Platform.Dapr;

namespace DistortSignals.Platform.Tests.Dapr;

public sealed class DaprDurationTests
{
    [Theory]
    [InlineData("", 0, null)]
    [InlineData("0", 0, null)]
    [InlineData("1m", 60_000, null)]
    [InlineData("0h0m3s0ms", 3_000, null)]
    [InlineData("1h30m", 5_400_000, null)]
    [InlineData("1.5h", 5_400_000, null)]
    [InlineData("250ms", 250, null)]
    [InlineData("1500us", 1.5, null)]
    [InlineData("@every 24h", 86_400_000, null)]
    [InlineData("@every 1h0m0s", 3_600_000, null)]
    [InlineData("PT10S", 10_000, null)]
    [InlineData("P1DT2H", 93_600_000, null)]
    [InlineData("P1W", 604_800_000, null)]
    [InlineData("R5/PT1M30S", 90_000, 5)]
    [InlineData("R1/1m", 60_000, 1)]
    public void Periods_are_read_in_every_form_the_sidecar_sends(string text, double milliseconds, int? repetitions)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), DaprDuration.ParsePeriod(text, out var repeat));
        Assert.Equal(repetitions, repeat);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("5")]
    [InlineData("1y")]
    [InlineData("P1Y")]
    [InlineData("PT")]
    [InlineData("@every often")]
    public void An_unreadable_period_names_itself(string text)
    {
        var error = Assert.Throws<FormatException>(() => DaprDuration.ParsePeriod(text, out _));
        Assert.Contains($"'{text}'", error.Message);
    }

    [Fact]
    public void A_due_time_may_be_an_instant()
    {
        var now = new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(TimeSpan.FromMinutes(5), DaprDuration.ParseDueTime("2025-01-01T12:05:00Z", now));
        Assert.Equal(TimeSpan.Zero, DaprDuration.ParseDueTime("2024-12-31T12:00:00Z", now));
        Assert.Equal(TimeSpan.FromSeconds(10), DaprDuration.ParseDueTime("PT10S", now));
    }

    [Fact]
    public void Durations_are_written_as_the_sdk_writes_them()
    {
        Assert.Equal("0h1m30s0ms", DaprDuration.Format(TimeSpan.FromSeconds(90)));
        Assert.Equal("26h0m0s5ms", DaprDuration.Format(TimeSpan.FromHours(26) + TimeSpan.FromMilliseconds(5)));
        Assert.Equal(TimeSpan.FromHours(26) + TimeSpan.FromMilliseconds(5), DaprDuration.ParsePeriod(DaprDuration.Format(TimeSpan.FromHours(26) + TimeSpan.FromMilliseconds(5)), out _));
    }
}
