using System.Globalization;
using System.Text.Json;
using DistortSignals.Core.Market;

namespace DistortSignals.Core.Tests.Market;

public class BarAggregatorTests
{
    private static DateTimeOffset T(string time) => DateTimeOffset.Parse(time.Length <= 8 ? $"2024-01-01T{time}Z" : time, CultureInfo.InvariantCulture);

    private static Bar M1(string time, double open, double high, double low, double close, double volume, int ticks) =>
        new("EURUSD", Timeframe.M1, T(time), open, high, low, close, volume, ticks);

    private static Bar Higher(Timeframe timeframe, string time, double open, double high, double low, double close, double volume, int ticks) =>
        new("EURUSD", timeframe, T(time), open, high, low, close, volume, ticks);

    private static List<Bar> Feed(BarAggregator aggregator, params Bar[] bars)
    {
        var closed = new List<Bar>();
        foreach (var bar in bars)
        {
            var result = aggregator.Add(bar);
            Assert.True(result.Accepted, result.Refusal?.ToString());
            if (result.Closed is { } higher)
            {
                closed.Add(higher);
            }
        }

        return closed;
    }

    [Fact]
    public void M1_bars_fold_into_an_M5_bar_that_the_next_period_closes()
    {
        var aggregator = new BarAggregator("EURUSD", Timeframe.M5);

        var closed = Feed(
            aggregator,
            M1("10:00", 1.10, 1.12, 1.09, 1.11, 10, 5),
            M1("10:01", 1.11, 1.15, 1.10, 1.14, 20, 8),
            M1("10:03", 1.14, 1.14, 1.05, 1.06, 5, 2),
            M1("10:04", 1.06, 1.08, 1.06, 1.07, 15, 6),
            M1("10:05", 1.07, 1.07, 1.07, 1.07, 1, 1));

        // O = 10:00 open, H = max(1.12, 1.15, 1.14, 1.08), L = min(1.09, 1.10, 1.05, 1.06), C = 10:04 close,
        // V = 10 + 20 + 5 + 15, ticks = 5 + 8 + 2 + 6; minute 10:02 is a gap.
        Assert.Equal([Higher(Timeframe.M5, "10:00", 1.10, 1.15, 1.05, 1.07, 50, 21)], closed);
        Assert.Equal(Higher(Timeframe.M5, "10:05", 1.07, 1.07, 1.07, 1.07, 1, 1), aggregator.Forming);
    }

    [Fact]
    public void H1_takes_open_and_close_by_bar_time_when_M1_bars_arrive_out_of_order()
    {
        var aggregator = new BarAggregator("EURUSD", Timeframe.H1);

        var closed = Feed(
            aggregator,
            M1("10:30", 1.30, 1.40, 1.25, 1.35, 3, 3),
            M1("10:00", 1.20, 1.22, 1.18, 1.21, 4, 2),
            M1("10:59", 1.35, 1.36, 1.31, 1.32, 2, 1),
            M1("10:45", 1.33, 1.45, 1.33, 1.44, 1, 1),
            M1("11:00", 1.32, 1.33, 1.32, 1.33, 1, 1));

        Assert.Equal([Higher(Timeframe.H1, "10:00", 1.20, 1.45, 1.18, 1.32, 10, 7)], closed);
    }

    [Fact]
    public void H4_bars_split_at_08_00_and_12_00_UTC()
    {
        var aggregator = new BarAggregator("EURUSD", Timeframe.H4);

        var closed = Feed(
            aggregator,
            M1("07:59", 1.00, 1.01, 0.99, 1.005, 7, 3),
            M1("08:00", 1.01, 1.03, 1.00, 1.02, 2, 2),
            M1("09:30", 1.02, 1.06, 1.02, 1.05, 3, 1),
            M1("11:59", 1.05, 1.05, 0.98, 0.99, 4, 4),
            M1("12:00", 0.99, 1.00, 0.99, 1.00, 1, 1));

        Assert.Equal(
            [
                Higher(Timeframe.H4, "04:00", 1.00, 1.01, 0.99, 1.005, 7, 3),
                Higher(Timeframe.H4, "08:00", 1.01, 1.06, 0.98, 0.99, 9, 7),
            ],
            closed);
    }

    [Fact]
    public void D1_runs_from_midnight_to_midnight_UTC()
    {
        var aggregator = new BarAggregator("EURUSD", Timeframe.D1);

        var closed = Feed(
            aggregator,
            M1("2024-01-01T00:00:00Z", 1.10, 1.11, 1.10, 1.11, 100, 40),
            M1("2024-01-01T12:34:00Z", 1.11, 1.20, 1.07, 1.19, 250, 90),
            M1("2024-01-01T23:59:00Z", 1.19, 1.19, 1.15, 1.16, 50, 10),
            M1("2024-01-02T00:00:00Z", 1.16, 1.17, 1.16, 1.17, 5, 1));

        Assert.Equal([Higher(Timeframe.D1, "2024-01-01T00:00:00Z", 1.10, 1.20, 1.07, 1.16, 400, 140)], closed);
        Assert.Equal(T("2024-01-02T00:00:00Z"), aggregator.Forming!.OpenTime);
    }

    [Fact]
    public void A_repeated_M1_bar_is_refused_as_a_duplicate_and_not_counted_twice()
    {
        var aggregator = new BarAggregator("EURUSD", Timeframe.M5);
        Feed(aggregator, M1("10:00", 1.10, 1.12, 1.09, 1.11, 10, 5), M1("10:01", 1.11, 1.15, 1.10, 1.14, 20, 8));

        var exact = aggregator.Add(M1("10:01", 1.11, 1.15, 1.10, 1.14, 20, 8));
        var changed = aggregator.Add(M1("10:00", 1.10, 1.30, 1.01, 1.11, 99, 9));

        Assert.Equal(RefusalReason.Duplicate, exact.Refusal!.Reason);
        Assert.Equal(RefusalReason.Duplicate, changed.Refusal!.Reason);
        var error = Assert.Single(exact.Refusal.Errors);
        Assert.Equal("time", error.Field);
        Assert.Contains("2024-01-01T10:01:00Z", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, aggregator.DuplicateBars);
        Assert.Equal(0, aggregator.LateBars);
        var closed = Feed(aggregator, M1("10:05", 1.14, 1.14, 1.14, 1.14, 1, 1));
        Assert.Equal([Higher(Timeframe.M5, "10:00", 1.10, 1.15, 1.09, 1.14, 30, 13)], closed);
    }

    [Fact]
    public void The_same_minute_of_the_next_period_is_not_a_duplicate()
    {
        var aggregator = new BarAggregator("EURUSD", Timeframe.M5);

        // 10:01 and 10:06 share the index within their M5 bar; the second must start a fresh set.
        var closed = Feed(aggregator, M1("10:01", 1.1, 1.1, 1.1, 1.1, 1, 1), M1("10:06", 1.2, 1.2, 1.2, 1.2, 1, 1), M1("10:10", 1.3, 1.3, 1.3, 1.3, 1, 1));

        Assert.Equal(
            [Higher(Timeframe.M5, "10:00", 1.1, 1.1, 1.1, 1.1, 1, 1), Higher(Timeframe.M5, "10:05", 1.2, 1.2, 1.2, 1.2, 1, 1)],
            closed);
    }

    [Fact]
    public void An_M1_bar_for_a_closed_period_is_refused_as_late_and_counted()
    {
        var aggregator = new BarAggregator("EURUSD", Timeframe.M5);
        Feed(aggregator, M1("10:00", 1.1, 1.1, 1.1, 1.1, 1, 1), M1("10:05", 1.2, 1.2, 1.2, 1.2, 1, 1));

        var result = aggregator.Add(M1("10:04", 1.9, 1.9, 1.9, 1.9, 1, 1));

        Assert.Equal(RefusalReason.Late, result.Refusal!.Reason);
        Assert.Contains("2024-01-01T10:04:00Z", Assert.Single(result.Refusal.Errors).Message, StringComparison.Ordinal);
        Assert.Equal(1, aggregator.LateBars);
        Assert.Equal(Higher(Timeframe.M5, "10:05", 1.2, 1.2, 1.2, 1.2, 1, 1), aggregator.Forming);
    }

    [Fact]
    public void The_watermark_closes_a_higher_bar_after_the_allowed_lateness()
    {
        var aggregator = new BarAggregator("EURUSD", Timeframe.M5, TimeSpan.FromSeconds(2));
        Feed(aggregator, M1("10:03", 1.1, 1.2, 1.0, 1.15, 3, 2));

        Assert.Null(aggregator.AdvanceWatermark(T("2024-01-01T10:05:01.999Z")));
        Feed(aggregator, M1("10:04", 1.15, 1.16, 1.14, 1.16, 1, 1));
        var closed = aggregator.AdvanceWatermark(T("2024-01-01T10:05:02Z"));

        Assert.Equal(Higher(Timeframe.M5, "10:00", 1.1, 1.2, 1.0, 1.16, 4, 3), closed);
        Assert.Equal(RefusalReason.Late, aggregator.Add(M1("10:04", 1.15, 1.16, 1.14, 1.16, 1, 1)).Refusal!.Reason);
        Assert.Equal(1, aggregator.LateBars);
    }

    [Fact]
    public void Bars_of_another_series_or_invalid_bars_are_refused()
    {
        var aggregator = new BarAggregator("EURUSD", Timeframe.H1);
        var good = M1("10:00", 1.1, 1.1, 1.1, 1.1, 1, 1);

        Assert.Equal(RefusalReason.WrongSeries, aggregator.Add(good with { Symbol = "GBPUSD" }).Refusal!.Reason);
        var wrongTimeframe = aggregator.Add(good with { Timeframe = Timeframe.M5 });
        Assert.Equal(RefusalReason.WrongSeries, wrongTimeframe.Refusal!.Reason);
        Assert.Equal("timeframe", Assert.Single(wrongTimeframe.Refusal.Errors).Field);
        var invalid = aggregator.Add(good with { High = 1.0 });
        Assert.Equal(RefusalReason.Invalid, invalid.Refusal!.Reason);
        Assert.Equal("high", invalid.Refusal.Errors[0].Field);
        Assert.Null(aggregator.Forming);
    }

    [Fact]
    public void The_target_timeframe_must_be_above_M1()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BarAggregator("EURUSD", Timeframe.M1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BarAggregator("EURUSD", (Timeframe)42));
    }

    private static readonly Bar[] RestartBars =
    [
        M1("10:00", 1.10, 1.12, 1.09, 1.11, 10, 5),
        M1("10:07", 1.11, 1.15, 1.10, 1.14, 20, 8),
        // Snapshot here. After it: a redelivery of 10:07, a bar earlier than 10:07, a late one, then the next period.
        M1("10:07", 1.11, 1.15, 1.10, 1.14, 20, 8),
        M1("10:06", 1.13, 1.13, 1.02, 1.05, 5, 2),
        M1("10:09", 1.14, 1.16, 1.12, 1.12, 7, 3),
        M1("10:04", 1.00, 1.00, 1.00, 1.00, 1, 1),
        M1("10:10", 1.12, 1.12, 1.12, 1.12, 1, 1),
    ];

    private static List<Bar> FeedAll(BarAggregator aggregator, IEnumerable<Bar> bars) =>
        bars.Select(aggregator.Add).Where(r => r.Closed is not null).Select(r => r.Closed!).ToList();

    [Fact]
    public void A_restored_snapshot_gives_the_same_bars_as_an_uninterrupted_run()
    {
        var uninterrupted = new BarAggregator("EURUSD", Timeframe.M5);
        var expected = FeedAll(uninterrupted, RestartBars);

        var before = new BarAggregator("EURUSD", Timeframe.M5);
        var closed = FeedAll(before, RestartBars.Take(2));
        var json = JsonSerializer.Serialize(before.Snapshot());
        var after = BarAggregator.Restore(JsonSerializer.Deserialize<BarAggregatorSnapshot>(json)!);
        closed.AddRange(FeedAll(after, RestartBars.Skip(2)));

        Assert.Equal(expected, closed);
        Assert.Equal(
            [
                Higher(Timeframe.M5, "10:00", 1.10, 1.12, 1.09, 1.11, 10, 5),
                Higher(Timeframe.M5, "10:05", 1.13, 1.16, 1.02, 1.12, 32, 13),
            ],
            closed);
        Assert.Equal((1L, 1L), (after.DuplicateBars, after.LateBars));
        Assert.Equal(uninterrupted.Forming, after.Forming);
    }

    [Fact]
    public void A_snapshot_lists_the_folded_minutes_of_the_forming_bar_as_runs()
    {
        var aggregator = new BarAggregator("EURUSD", Timeframe.M15);
        Feed(aggregator, M1("10:14", 1.1, 1.1, 1.1, 1.1, 1, 1), M1("10:02", 1.1, 1.1, 1.1, 1.1, 1, 1), M1("10:03", 1.1, 1.1, 1.1, 1.1, 1, 1), M1("10:04", 1.1, 1.1, 1.1, 1.1, 1, 1));

        var snapshot = aggregator.Snapshot();

        Assert.Equal([new MinuteRun(T("10:02"), 3), new MinuteRun(T("10:14"), 1)], snapshot.FoldedRuns);
        Assert.Equal([T("10:02"), T("10:03"), T("10:04"), T("10:14")], snapshot.FoldedMinutes());
        Assert.Equal(T("10:00"), snapshot.ClosedBefore);
    }

    [Fact]
    public void A_whole_day_of_minutes_in_order_is_one_run()
    {
        var aggregator = new BarAggregator("EURUSD", Timeframe.D1);
        var day = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
        for (var minute = 0; minute < 1439; minute++)
        {
            aggregator.Add(new Bar("EURUSD", Timeframe.M1, day.AddMinutes(minute), 1.1, 1.1, 1.1, 1.1, 1, 1));
        }

        Assert.Equal([new MinuteRun(day, 1439)], aggregator.Snapshot().FoldedRuns);
    }

    [Fact]
    public void A_restored_day_of_scattered_runs_takes_every_next_bar_as_the_original_does()
    {
        var random = new Random(11);
        var day = new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);
        var original = new BarAggregator("EURUSD", Timeframe.D1);
        for (var step = 0; step < 400; step++)
        {
            // Minutes of the day at random, so that the runs have gaps and some minutes come twice.
            var bar = new Bar("EURUSD", Timeframe.M1, day.AddMinutes(random.Next(0, 1440)), 1.1, 1.12, 1.09, 1.11, 1, 1);
            var restored = BarAggregator.Restore(original.Snapshot());

            var (expected, actual) = (original.Add(bar), restored.Add(bar));

            Assert.Equal((expected.Accepted, expected.Closed, expected.Refusal?.Reason), (actual.Accepted, actual.Closed, actual.Refusal?.Reason));
            Assert.Equal(original.Snapshot().FoldedRuns, restored.Snapshot().FoldedRuns);
            Assert.Equal((original.Forming, original.DuplicateBars), (restored.Forming, restored.DuplicateBars));
        }
    }

    [Fact]
    public void A_snapshot_whose_parts_disagree_is_refused()
    {
        var forming = Higher(Timeframe.M5, "10:05", 1.1, 1.1, 1.1, 1.1, 1, 1);

        Assert.Throws<ArgumentException>(() => BarAggregator.Restore(new BarAggregatorSnapshot("EURUSD", Timeframe.M5, T("10:05"), forming, [], 0, 0)));
        Assert.Throws<ArgumentException>(() => BarAggregator.Restore(new BarAggregatorSnapshot("EURUSD", Timeframe.M5, T("10:05"), forming, [new MinuteRun(T("10:11"), 1)], 0, 0)));
        Assert.Throws<ArgumentException>(() => BarAggregator.Restore(new BarAggregatorSnapshot("EURUSD", Timeframe.M5, T("10:05"), forming, [new MinuteRun(T("10:08"), 3)], 0, 0)));
        Assert.Throws<ArgumentException>(() => BarAggregator.Restore(new BarAggregatorSnapshot("EURUSD", Timeframe.M5, T("10:05"), forming, [new MinuteRun(T("10:06"), 0)], 0, 0)));
        Assert.Throws<ArgumentException>(() => BarAggregator.Restore(new BarAggregatorSnapshot("EURUSD", Timeframe.M5, T("10:05"), forming, [new MinuteRun(T("10:06").AddSeconds(30), 2)], 0, 0)));
        Assert.Throws<ArgumentException>(() => BarAggregator.Restore(new BarAggregatorSnapshot("EURUSD", Timeframe.M5, T("10:05"), null, [new MinuteRun(T("10:06"), 1)], 0, 0)));
    }
}
