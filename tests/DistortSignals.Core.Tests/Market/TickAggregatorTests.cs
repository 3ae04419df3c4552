using System.Globalization;
using System.Text.Json;
using DistortSignals.Core.Market;

namespace DistortSignals.Core.Tests.Market;

public class TickAggregatorTests
{
    private static DateTimeOffset T(string time) => DateTimeOffset.Parse($"2024-01-01T{time}Z", CultureInfo.InvariantCulture);

    private static Tick Bid(string time, double bid, double volume = 1) => new("EURUSD", T(time), bid, bid + 0.0002, null, volume, "test");

    private static Bar M1(string time, double open, double high, double low, double close, double volume, int ticks) =>
        new("EURUSD", Timeframe.M1, T(time), open, high, low, close, volume, ticks);

    private static Bar? AddAccepted(TickAggregator aggregator, Tick tick)
    {
        var result = aggregator.Add(tick);
        Assert.True(result.Accepted, result.Refusal?.ToString());
        return result.Closed;
    }

    [Fact]
    public void Ticks_of_one_minute_make_one_bar_that_the_next_minute_closes()
    {
        var aggregator = new TickAggregator("EURUSD");

        Assert.Null(AddAccepted(aggregator, Bid("10:00:00", 1.1000, 1)));
        Assert.Null(AddAccepted(aggregator, Bid("10:00:20", 1.1010, 2)));
        Assert.Null(AddAccepted(aggregator, Bid("10:00:40", 1.0990, 0.5)));
        Assert.Null(AddAccepted(aggregator, Bid("10:00:59.999", 1.1005, 1)));
        var closed = AddAccepted(aggregator, Bid("10:01:00", 1.1007, 3));

        Assert.Equal(M1("10:00:00", 1.1000, 1.1010, 1.0990, 1.1005, 4.5, 4), closed);
        Assert.Equal(M1("10:01:00", 1.1007, 1.1007, 1.1007, 1.1007, 3, 1), aggregator.Forming);
    }

    [Fact]
    public void A_tick_exactly_at_a_minute_start_belongs_to_that_minute()
    {
        var aggregator = new TickAggregator("EURUSD");

        AddAccepted(aggregator, Bid("10:00:00", 1.2));

        Assert.Equal(T("10:00:00"), aggregator.Forming!.OpenTime);
    }

    [Fact]
    public void A_tick_at_59_999_seconds_belongs_to_the_previous_minute()
    {
        var aggregator = new TickAggregator("EURUSD");

        AddAccepted(aggregator, Bid("10:00:10", 1.2));
        Assert.Null(AddAccepted(aggregator, Bid("10:00:59.999", 1.3)));

        Assert.Equal(M1("10:00:00", 1.2, 1.3, 1.2, 1.3, 2, 2), aggregator.Forming);
    }

    [Fact]
    public void The_price_is_last_when_present_else_bid()
    {
        var aggregator = new TickAggregator("EURUSD");

        AddAccepted(aggregator, new Tick("EURUSD", T("10:00:01"), 1.1000, 1.1004, 1.1002, 1, "test"));
        AddAccepted(aggregator, new Tick("EURUSD", T("10:00:02"), 1.0990, 1.0994, null, 1, "test"));
        AddAccepted(aggregator, new Tick("EURUSD", T("10:00:03"), null, null, 1.0995, 1, "test"));

        // Prices taken: 1.1002 (last), 1.0990 (bid, not ask 1.0994), 1.0995 (last).
        Assert.Equal(M1("10:00:00", 1.1002, 1.1002, 1.0990, 1.0995, 3, 3), aggregator.Forming);
    }

    [Fact]
    public void Minutes_without_ticks_make_no_bar()
    {
        var aggregator = new TickAggregator("EURUSD");
        var closed = new List<Bar>();

        foreach (var tick in new[] { Bid("10:00:10", 1.1), Bid("10:03:10", 1.2), Bid("10:03:50", 1.3), Bid("10:07:00", 1.4) })
        {
            if (AddAccepted(aggregator, tick) is { } bar)
            {
                closed.Add(bar);
            }
        }

        Assert.Equal(
            [M1("10:00:00", 1.1, 1.1, 1.1, 1.1, 1, 1), M1("10:03:00", 1.2, 1.3, 1.2, 1.3, 2, 2)],
            closed);
        Assert.Equal(T("10:07:00"), aggregator.Forming!.OpenTime);
    }

    [Fact]
    public void Out_of_order_ticks_within_the_open_bar_are_accepted_and_placed_by_time()
    {
        var aggregator = new TickAggregator("EURUSD");

        AddAccepted(aggregator, Bid("10:00:30", 1.20));
        AddAccepted(aggregator, Bid("10:00:10", 1.10));
        AddAccepted(aggregator, Bid("10:00:50", 1.30));
        AddAccepted(aggregator, Bid("10:00:40", 1.25));

        // Open is the 10:00:10 tick and close the 10:00:50 tick, whatever the arrival order.
        Assert.Equal(M1("10:00:00", 1.10, 1.30, 1.10, 1.30, 4, 4), aggregator.Forming);
        Assert.Equal(0, aggregator.LateTicks);
    }

    [Fact]
    public void A_tick_for_a_closed_bar_is_refused_counted_and_not_merged()
    {
        var aggregator = new TickAggregator("EURUSD");
        AddAccepted(aggregator, Bid("10:00:10", 1.1));
        var closed = AddAccepted(aggregator, Bid("10:01:05", 1.2));

        var result = aggregator.Add(Bid("10:00:50", 1.9));

        Assert.False(result.Accepted);
        Assert.Null(result.Closed);
        Assert.Equal(RefusalReason.Late, result.Refusal!.Reason);
        var error = Assert.Single(result.Refusal.Errors);
        Assert.Equal("time", error.Field);
        Assert.Contains("2024-01-01T10:00:50Z", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, aggregator.LateTicks);
        Assert.Equal(M1("10:00:00", 1.1, 1.1, 1.1, 1.1, 1, 1), closed);
        Assert.Equal(M1("10:01:00", 1.2, 1.2, 1.2, 1.2, 1, 1), aggregator.Forming);
    }

    [Fact]
    public void A_tick_for_a_skipped_minute_is_late_once_a_later_minute_has_opened()
    {
        var aggregator = new TickAggregator("EURUSD");
        AddAccepted(aggregator, Bid("10:00:10", 1.1));
        AddAccepted(aggregator, Bid("10:02:00", 1.2));

        var result = aggregator.Add(Bid("10:01:30", 1.3));

        Assert.Equal(RefusalReason.Late, result.Refusal!.Reason);
        Assert.Equal(1, aggregator.LateTicks);
    }

    [Fact]
    public void The_watermark_closes_a_bar_only_after_the_allowed_lateness()
    {
        var aggregator = new TickAggregator("EURUSD", TimeSpan.FromSeconds(2));
        AddAccepted(aggregator, Bid("10:00:30", 1.1));

        Assert.Null(aggregator.AdvanceWatermark(T("10:01:01.999")));

        // Still within the lateness: a straggler for 10:00 is merged.
        AddAccepted(aggregator, Bid("10:00:59.5", 1.15));
        var closed = aggregator.AdvanceWatermark(T("10:01:02"));

        Assert.Equal(M1("10:00:00", 1.1, 1.15, 1.1, 1.15, 2, 2), closed);
        Assert.Null(aggregator.Forming);
        Assert.Equal(RefusalReason.Late, aggregator.Add(Bid("10:00:59.9", 1.2)).Refusal!.Reason);
        Assert.Equal(1, aggregator.LateTicks);
        Assert.Null(AddAccepted(aggregator, Bid("10:01:30", 1.3)));
    }

    [Fact]
    public void The_default_lateness_is_two_seconds()
    {
        var aggregator = new TickAggregator("EURUSD");
        AddAccepted(aggregator, Bid("10:00:30", 1.1));

        Assert.Null(aggregator.AdvanceWatermark(T("10:01:01.9")));
        Assert.NotNull(aggregator.AdvanceWatermark(T("10:01:02")));
    }

    [Fact]
    public void The_watermark_makes_minutes_final_even_when_no_bar_is_forming()
    {
        var aggregator = new TickAggregator("EURUSD", TimeSpan.Zero);

        Assert.Null(aggregator.AdvanceWatermark(T("10:05:00")));

        Assert.Equal(T("10:05:00"), aggregator.ClosedBefore);
        Assert.Equal(RefusalReason.Late, aggregator.Add(Bid("10:04:59.999", 1.1)).Refusal!.Reason);
        AddAccepted(aggregator, Bid("10:05:00", 1.1));
    }

    [Fact]
    public void A_watermark_that_goes_back_changes_nothing()
    {
        var aggregator = new TickAggregator("EURUSD", TimeSpan.Zero);
        aggregator.AdvanceWatermark(T("10:05:00"));

        aggregator.AdvanceWatermark(T("10:02:00"));

        Assert.Equal(T("10:05:00"), aggregator.ClosedBefore);
    }

    [Fact]
    public void An_invalid_tick_is_refused_with_its_validation_errors()
    {
        var aggregator = new TickAggregator("EURUSD");
        AddAccepted(aggregator, Bid("10:00:10", 1.1));

        var result = aggregator.Add(new Tick("EURUSD", T("10:00:20"), 1.2, 1.1, null, 1, "test"));

        Assert.Equal(RefusalReason.Invalid, result.Refusal!.Reason);
        Assert.Equal("bid: 1.2 is above ask 1.1", Assert.Single(result.Refusal.Errors).ToString());
        Assert.Equal(0, aggregator.LateTicks);
        Assert.Equal(1, aggregator.Forming!.TickCount);
    }

    [Fact]
    public void A_tick_of_another_symbol_is_refused()
    {
        var aggregator = new TickAggregator("EURUSD");

        var result = aggregator.Add(Bid("10:00:10", 1.1) with { Symbol = "GBPUSD" });

        Assert.Equal(RefusalReason.WrongSeries, result.Refusal!.Reason);
        Assert.Equal("symbol", Assert.Single(result.Refusal.Errors).Field);
        Assert.Null(aggregator.Forming);
    }

    [Fact]
    public void The_constructor_refuses_a_bad_symbol_and_a_negative_lateness()
    {
        Assert.Throws<ArgumentException>(() => new TickAggregator("eurusd"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TickAggregator("EURUSD", TimeSpan.FromSeconds(-1)));
    }

    private static readonly Tick[] RestartTicks =
    [
        Bid("10:00:10", 1.10), Bid("10:00:40", 1.12), Bid("10:01:20", 1.13),
        // Snapshot here, mid-minute 10:01; the next tick is earlier than any tick of 10:01 so far.
        Bid("10:01:05", 1.09), Bid("10:01:50", 1.11), Bid("10:00:55", 1.50), Bid("10:03:00", 1.14),
    ];

    private static List<Bar> Feed(TickAggregator aggregator, IEnumerable<Tick> ticks)
    {
        var closed = new List<Bar>();
        foreach (var tick in ticks)
        {
            if (aggregator.Add(tick).Closed is { } bar)
            {
                closed.Add(bar);
            }
        }

        return closed;
    }

    [Fact]
    public void A_restored_snapshot_gives_the_same_bars_as_an_uninterrupted_run()
    {
        var uninterrupted = new TickAggregator("EURUSD");
        var expected = Feed(uninterrupted, RestartTicks);

        var before = new TickAggregator("EURUSD");
        var closed = Feed(before, RestartTicks.Take(3));
        var json = JsonSerializer.Serialize(before.Snapshot());
        var after = TickAggregator.Restore(JsonSerializer.Deserialize<TickAggregatorSnapshot>(json)!);
        closed.AddRange(Feed(after, RestartTicks.Skip(3)));

        Assert.Equal(expected, closed);
        Assert.Equal(
            [M1("10:00:00", 1.10, 1.12, 1.10, 1.12, 2, 2), M1("10:01:00", 1.09, 1.13, 1.09, 1.11, 3, 3)],
            closed);
        Assert.Equal(uninterrupted.Forming, after.Forming);
        Assert.Equal(1, after.LateTicks);
        Assert.Equal(uninterrupted.Snapshot().ClosedBefore, after.Snapshot().ClosedBefore);
    }

    [Fact]
    public void A_snapshot_whose_parts_disagree_is_refused()
    {
        var forming = M1("10:01:00", 1.1, 1.1, 1.1, 1.1, 1, 1);

        Assert.Throws<ArgumentException>(() => TickAggregator.Restore(new TickAggregatorSnapshot("EURUSD", T("10:00:00"), forming, T("10:01:05"), T("10:01:05"), 0)));
        Assert.Throws<ArgumentException>(() => TickAggregator.Restore(new TickAggregatorSnapshot("EURUSD", T("10:01:00"), forming, T("10:02:05"), T("10:02:05"), 0)));
        Assert.Throws<ArgumentException>(() => TickAggregator.Restore(new TickAggregatorSnapshot("EURUSD", T("10:01:00"), forming, null, null, 0)));
    }

    [Fact]
    public void No_taken_tick_is_ever_after_the_bound_and_a_later_tick_is_after_it_while_a_bar_forms()
    {
        var random = new Random(7);
        var aggregator = new TickAggregator("EURUSD");
        var start = T("10:00:00");
        Assert.True(aggregator.IsAfterEveryTakenTick(start));
        DateTimeOffset? latestTaken = null;
        var now = start;
        for (var step = 0; step < 2000; step++)
        {
            now += TimeSpan.FromMilliseconds(random.Next(0, 4000));
            if (random.Next(10) == 0)
            {
                aggregator.AdvanceWatermark(now + TimeSpan.FromSeconds(random.Next(0, 90)));
            }
            else
            {
                // Ticks up to 70 s out of order, so that some are late and some land in the forming bar before its last tick.
                var time = now - TimeSpan.FromMilliseconds(random.Next(0, 70_000));
                if (aggregator.Add(new Tick("EURUSD", time, 1.1, 1.1002, null, 1, "test")).Accepted && (latestTaken is null || time > latestTaken))
                {
                    latestTaken = time;
                }
            }

            var restored = TickAggregator.Restore(aggregator.Snapshot());
            foreach (var candidate in new[] { aggregator, restored })
            {
                if (latestTaken is { } latest)
                {
                    Assert.False(candidate.IsAfterEveryTakenTick(latest), $"step {step}: the latest taken tick {latest:O} counted as new");
                    Assert.False(candidate.IsAfterEveryTakenTick(latest - TimeSpan.FromSeconds(random.Next(0, 120))));
                    Assert.Equal(candidate.Forming is not null || aggregator.ClosedBefore <= latest.AddTicks(1), candidate.IsAfterEveryTakenTick(latest.AddTicks(1)));
                }
            }
        }
    }
}
