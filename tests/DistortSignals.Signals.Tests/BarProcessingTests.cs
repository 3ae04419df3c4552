using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform.Messaging;
using DistortSignals.Signals.Processing;
using DistortSignals.Testing;

namespace DistortSignals.Signals.Tests;

/// <summary>The bar.closed subscription on a real database, handed events the way the dispatcher hands them.</summary>
public sealed class BarProcessingTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_trend_gives_its_signal_stored_once_and_published_through_the_outbox()
    {
        var strategy = Strategies.Named("trend", 1, 0, 0);
        strategy = strategy with { Spec = strategy.Spec with { Accounts = ["paper-main", "mt5-demo"] } };
        var bars = new SeriesBuilder().Range(60).Trend(80, 0.3).Bars;
        var expected = Assert.Single(Strategies.Expected(strategy, bars));
        await using var host = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(strategy));

        await host.DeliverAllAsync(bars);

        Assert.Equal(expected, Assert.Single(await host.StoredSignalsAsync()));
        var published = Assert.Single(await host.OutboxAsync());
        Assert.Equal(expected.Id, published.Id);
        Assert.Equal(CloudEvent.TypeName(Topics.Events.SignalGenerated), published.Type);
        Assert.Equal(("signals", "TEST", expected.Time), (published.Source, published.Subject, published.Time));
        Assert.Equal(expected, published.ReadData<Signal>());
        Assert.Equal(["paper-main", "mt5-demo"], published.Data.GetProperty("accounts").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(bars.Count, await host.CountAsync("SELECT count(*) FROM signals.bars"));
        Assert.Equal(1, await host.CountAsync($"SELECT count(*) FROM signals.signals WHERE strategy = 'trend' AND symbol = 'TEST' AND timeframe = 'H1' AND direction = 'Buy' AND bar_time = '{expected.BarTime:O}'"));
    }

    [Fact]
    public async Task Redelivering_every_bar_adds_nothing_and_a_repeated_bar_under_a_new_id_is_ignored()
    {
        var strategy = Strategies.Named("trend", 1, 0, 0);
        var bars = new SeriesBuilder().Range(60).Trend(80, 0.3).Bars;
        await using var host = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(strategy));
        await host.DeliverAllAsync(bars);

        await host.DeliverAllAsync(bars);
        foreach (var bar in bars)
        {
            var republished = SignalsTestHost.BarClosed(bar) with { Id = "again-" + bar.OpenTime.ToUnixTimeSeconds() };
            Assert.Equal(DeliveryOutcome.Success, await host.DeliverAsync(republished));
        }

        Assert.Single(await host.StoredSignalsAsync());
        Assert.Single(await host.OutboxAsync());
        Assert.Equal(bars.Count, await host.CountAsync("SELECT count(*) FROM signals.bars"));
    }

    [Fact]
    public async Task A_restarted_module_warms_up_from_the_stored_bars_and_emits_what_an_uninterrupted_run_emits()
    {
        const int stop = 600;
        var balanced = Strategies.Named("balanced", 0.5, 0.3, 0.2, minStrength: 0.4);
        balanced = balanced with { Spec = balanced.Spec with { ConfirmTimeframe = Timeframe.H4 } };
        var momentum = Strategies.Named("momentum", 1, 0, 0, minStrength: 0.4);
        var bars = new SyntheticMarket("TEST", 1.1, seed: 12).Bars(Timeframe.H1, Start, 1000).ToList();
        var expected = Strategies.Expected(balanced, bars);
        Assert.Contains(expected, s => s.BarTime < bars[stop].OpenTime);
        Assert.Contains(expected, s => s.BarTime >= bars[stop].OpenTime);

        string database;
        await using (var first = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(balanced)))
        {
            database = first.ConnectionString;
            await first.DeliverAllAsync(bars.Take(stop));
        }

        // The restart also brings a strategy that was not loaded before: it starts from the same stored history.
        await using var restarted = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(balanced, momentum), database);
        await restarted.DeliverAllAsync(bars.Skip(stop));

        var stored = await restarted.StoredSignalsAsync();
        Assert.Equal(expected, stored.Where(s => s.Strategy == "balanced"));
        var momentumAfterRestart = Strategies.Expected(momentum, bars).Where(s => s.BarTime >= bars[stop].OpenTime).ToList();
        Assert.NotEmpty(momentumAfterRestart);
        Assert.Equal(momentumAfterRestart, stored.Where(s => s.Strategy == "momentum"));
        Assert.Equal(stored.Select(s => s.Id).Order(), (await restarted.OutboxAsync()).Select(e => e.Id).Order());
    }

    [Fact]
    public async Task A_failed_delivery_discards_the_engines_and_the_retry_emits_the_signal()
    {
        var strategy = Strategies.Named("trend", 1, 0, 0);
        var bars = new SeriesBuilder().Range(60).Trend(80, 0.3).Bars;
        var expected = Assert.Single(Strategies.Expected(strategy, bars));
        var signalBar = bars.ToList().FindIndex(b => b.OpenTime == expected.BarTime);
        var outbox = new FlakyOutbox();
        await using var host = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(strategy), outbox: outbox);
        await host.DeliverAllAsync(bars.Take(signalBar));

        outbox.FailNextSignal();
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.DeliverAsync(SignalsTestHost.BarClosed(bars[signalBar])));

        Assert.Equal(0, host.Get<StrategyEngines>().Count);
        Assert.Empty(await host.StoredSignalsAsync());
        Assert.Equal(signalBar, await host.CountAsync("SELECT count(*) FROM signals.bars"));

        await host.DeliverAllAsync(bars.Skip(signalBar));

        Assert.Equal(1, outbox.Failures);
        Assert.Equal(expected, Assert.Single(await host.StoredSignalsAsync()));
        Assert.Equal(expected.Id, Assert.Single(await host.OutboxAsync()).Id);
    }

    [Fact]
    public async Task Through_the_dispatcher_a_handler_that_fails_once_is_retried_and_nothing_is_lost()
    {
        var strategy = Strategies.Named("balanced", 0.5, 0.3, 0.2, minStrength: 0.4);
        var bars = new SyntheticMarket("TEST", 1.1, seed: 7).Bars(Timeframe.H1, Start, 400).ToList();
        var expected = Strategies.Expected(strategy, bars);
        Assert.True(expected.Count > 1, $"the series should produce signals, got {expected.Count}");
        var outbox = new FlakyOutbox();
        outbox.FailNextSignal();
        await using var host = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(strategy), start: true, outbox: outbox);

        var publisher = host.Get<IEventPublisher>();
        foreach (var bar in bars)
        {
            await publisher.PublishEventAsync(Topics.Bars, SignalsTestHost.BarClosed(bar), CancellationToken.None);
        }

        await Eventually.UntilAsync("every bar is delivered", async () =>
            await host.CountAsync("SELECT count(*) FROM platform.deliveries WHERE consumer = 'signals'") == 0);
        Assert.Equal(1, outbox.Failures);
        Assert.Equal(0, await host.CountAsync("SELECT count(*) FROM platform.dead_letters"));
        Assert.Equal(expected, await host.StoredSignalsAsync());
    }

    [Fact]
    public async Task Runs_of_bars_of_several_symbols_store_and_signal_what_the_engines_emit_bar_by_bar()
    {
        var strategy = Strategies.Named("balanced", 0.5, 0.3, 0.2, minStrength: 0.4);
        var test = new SyntheticMarket("TEST", 1.1, seed: 12).Bars(Timeframe.H1, Start, 400).ToList();
        var other = new SyntheticMarket("OTHER", 1.3, seed: 7).Bars(Timeframe.H1, Start, 400).ToList();
        var expected = Strategies.Expected(strategy, test)
            .Concat(Strategies.Expected(strategy with { Spec = strategy.Spec with { Symbols = ["OTHER"] } }, other))
            .OrderBy(s => s.BarTime).ThenBy(s => s.Symbol).ToList();
        Assert.True(expected.Select(s => s.Symbol).Distinct().Count() == 2, "both series should produce signals");
        var unused = new SeriesBuilder("TEST", Timeframe.M15).Range(400).Bars;
        await using var host = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(strategy with { Spec = strategy.Spec with { Symbols = ["TEST", "OTHER"] } }));
        using var counted = new CountedBars(host.Get<SignalsMetrics>());

        // Runs of both symbols' bars in time order, each with a repeat of its last bar and a late one under new ids, and
        // a bar of a timeframe no strategy uses.
        for (var i = 0; i < test.Count; i += 4)
        {
            var run = test.Skip(i).Take(4).Zip(other.Skip(i).Take(4)).SelectMany(p => new[] { p.First, p.Second }).Select(SignalsTestHost.BarClosed).ToList();
            run.Add(run[^1] with { Id = $"again-{i}" });
            run.Add(SignalsTestHost.BarClosed(test[Math.Max(0, i - 1)]) with { Id = $"late-{i}" });
            run.Insert(3, SignalsTestHost.BarClosed(unused[i]));
            Assert.Equal(DeliveryOutcome.Success, await host.DeliverRunAsync(run));
        }

        Assert.Equal(expected, (await host.StoredSignalsAsync()).OrderBy(s => s.BarTime).ThenBy(s => s.Symbol));
        Assert.Equal(expected.Select(s => s.Id).Order(), (await host.OutboxAsync()).Select(e => e.Id).Order());
        Assert.Equal(test.Count + other.Count, await host.CountAsync("SELECT count(*) FROM signals.bars WHERE timeframe = 'H1'"));
        Assert.Equal(0, await host.CountAsync("SELECT count(*) FROM signals.bars WHERE timeframe <> 'H1'"));
        Assert.Equal(test.Count + other.Count, counted.Of("signals.bars.processed"));
        Assert.Equal(2 * test.Count / 4, counted.Of("signals.bars.ignored"));
        Assert.Equal(expected.Count, counted.Of("signals.generated"));
    }

    [Fact]
    public async Task A_failed_run_discards_the_engines_of_every_bar_it_took_and_changes_nothing()
    {
        var strategy = Strategies.Named("trend", 1, 0, 0);
        strategy = strategy with { Spec = strategy.Spec with { Symbols = ["TEST", "OTHER"] } };
        var test = new SeriesBuilder().Range(60).Trend(80, 0.3).Bars;
        var other = new SeriesBuilder("OTHER").Range(140).Bars;
        var expected = Assert.Single(Strategies.Expected(strategy, test));
        Assert.Empty(Strategies.Expected(strategy with { Spec = strategy.Spec with { Symbols = ["OTHER"] } }, other));
        var signalBar = test.ToList().FindIndex(b => b.OpenTime == expected.BarTime);
        var outbox = new FlakyOutbox();
        await using var host = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(strategy), outbox: outbox);
        await host.DeliverAllAsync(test.Take(signalBar).Concat(other.Take(signalBar)));
        Assert.Equal(2, host.Get<StrategyEngines>().Count);

        // OTHER's bar first, then TEST's, which signals: the run fails at the signal's store.
        using var counted = new CountedBars(host.Get<SignalsMetrics>());
        outbox.FailNextSignal();
        CloudEvent[] run = [SignalsTestHost.BarClosed(other[signalBar]), SignalsTestHost.BarClosed(test[signalBar])];
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.DeliverRunAsync(run));

        Assert.Equal(0, host.Get<StrategyEngines>().Count);
        Assert.Equal(2 * signalBar, await host.CountAsync("SELECT count(*) FROM signals.bars"));
        Assert.Empty(await host.StoredSignalsAsync());
        Assert.Equal(0, counted.Of("signals.bars.processed") + counted.Of("signals.generated"));

        Assert.Equal(DeliveryOutcome.Success, await host.DeliverRunAsync(run));
        Assert.Equal(expected, Assert.Single(await host.StoredSignalsAsync()));
        Assert.Equal(2 * (signalBar + 1), await host.CountAsync("SELECT count(*) FROM signals.bars"));
        Assert.Equal((2, 1), (counted.Of("signals.bars.processed"), counted.Of("signals.generated")));
    }

    [Fact]
    public async Task A_run_with_an_event_that_is_not_a_bar_is_dropped_whole_for_the_dispatcher_to_hand_over_one_at_a_time()
    {
        await using var host = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(Strategies.Named("trend", 1, 0, 0)));
        var bars = new SeriesBuilder().Range(3).Bars;
        var notABar = SignalsTestHost.BarClosed(bars[1]) with { Id = "t2", Data = JsonSerializer.SerializeToElement("not a bar") };

        Assert.Equal(DeliveryOutcome.Drop, await host.DeliverRunAsync([SignalsTestHost.BarClosed(bars[0]), notABar, SignalsTestHost.BarClosed(bars[2])]));

        Assert.Equal(0, host.Get<StrategyEngines>().Count);
        Assert.Equal(0, await host.CountAsync("SELECT count(*) FROM signals.bars"));
    }

    [Fact]
    public async Task Bars_of_a_symbol_or_timeframe_no_strategy_uses_are_acknowledged_without_effect()
    {
        await using var host = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(Strategies.Named("trend", 1, 0, 0)));

        await host.DeliverAllAsync(new SeriesBuilder("OTHER").Range(60).Trend(80, 0.3).Bars);
        await host.DeliverAllAsync(new SeriesBuilder("TEST", Timeframe.M15).Range(60).Trend(80, 0.3).Bars);

        Assert.Equal(0, await host.CountAsync("SELECT count(*) FROM signals.bars"));
        Assert.Equal(0, host.Get<StrategyEngines>().Count);
        Assert.Empty(await host.OutboxAsync());
    }

    [Fact]
    public async Task A_paused_strategy_keeps_the_bars_but_emits_nothing()
    {
        var paused = Strategies.Named("trend", 1, 0, 0);
        paused = paused with { Spec = paused.Spec with { Paused = true } };
        var bars = new SeriesBuilder().Range(60).Trend(80, 0.3).Bars;
        await using var host = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(paused));

        await host.DeliverAllAsync(bars);

        Assert.Equal(bars.Count, await host.CountAsync("SELECT count(*) FROM signals.bars"));
        Assert.Empty(await host.StoredSignalsAsync());
    }

    [Fact]
    public async Task Unknown_event_types_and_malformed_bars_are_dropped()
    {
        await using var host = await SignalsTestHost.StartAsync(SignalsTestHost.Resources(Strategies.Named("trend", 1, 0, 0)));
        var bar = new SeriesBuilder().Close(100.5).Bars[0];
        var valid = SignalsTestHost.BarClosed(bar);

        Assert.Equal(DeliveryOutcome.Drop, await host.DeliverAsync(valid with { Id = "t1", Type = CloudEvent.TypeName("tick.received") }));
        Assert.Equal(DeliveryOutcome.Drop, await host.DeliverAsync(valid with { Id = "t2", Data = JsonSerializer.SerializeToElement("not a bar") }));
        Assert.Equal(DeliveryOutcome.Drop, await host.DeliverAsync(valid with { Id = "t3", Data = JsonSerializer.SerializeToElement(new { symbol = "TEST", timeframe = "H1" }) }));
        Assert.Equal(DeliveryOutcome.Drop, await host.DeliverAsync(valid with { Id = "t4", Data = JsonSerializer.SerializeToElement(new { symbol = "TEST", timeframe = "H1", openTime = Start.AddMinutes(1), open = 1, high = 1, low = 1, close = 1, volume = 1 }) }));
        Assert.Equal(0, await host.CountAsync("SELECT count(*) FROM signals.bars"));
    }

    /// <summary>What one host's signals meter counts: test classes run in parallel, each host with a meter of its own.</summary>
    private sealed class CountedBars : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _counted = new();

        public CountedBars(SignalsMetrics metrics)
        {
            var meter = metrics.BarsProcessed.Meter;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _counted.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
            _listener.Start();
        }

        public long Of(string name) => _counted.GetValueOrDefault(name);

        public void Dispose() => _listener.Dispose();
    }
}
