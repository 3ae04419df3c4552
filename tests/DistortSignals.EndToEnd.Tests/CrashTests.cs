using System.Diagnostics;
using System.Text.Json;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace DistortSignals.EndToEnd.Tests;

/// <summary>
/// The crash test: `distortsignals run` is killed with SIGKILL at random moments while a stream of ticks flows
/// into it, and started again each time. Afterwards the database must hold every acknowledged tick once,
/// exactly the bars those ticks close, one published bar.closed event per bar, exactly the signals an
/// uninterrupted run of the strategy emits, and each event handled once by every consumer.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    private const int Seed = 20250303;
    private const int KillsWhileStreaming = 22;

    // After every so many kills the next start is killed too, before or while it gets ready.
    private const int KillsBetweenStartKills = 5;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Killed_again_and_again_while_ticks_flow_the_platform_loses_nothing_and_repeats_nothing()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var adminKey = ApiKeySecret.Generate();
        var watch = Stopwatch.StartNew();
        await using var platform = PlatformProcess.Create(connectionString, adminKey);
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var ingest = new HttpClient { BaseAddress = platform.Address, Timeout = TimeSpan.FromSeconds(15) };
        ingest.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, adminKey);
        var stream = new TickStream(ingest, Seed);
        var random = new Random(Seed);
        using var stopStreaming = new CancellationTokenSource();
        var (kills, killsWhileStarting, killsDuringRequests) = (0, 0, 0);

        // The first start is killed too, most likely while it creates the schemas of the fresh database.
        platform.Start();
        await Task.Delay(TimeSpan.FromMilliseconds(random.Next(300, 1500)), deadline.Token);
        await platform.KillAsync();
        killsWhileStarting++;
        platform.Start();
        await platform.WaitReadyAsync(probe, StartTimeout, deadline.Token);
        var streaming = stream.RunAsync(stopStreaming.Token, deadline.Token);
        try
        {
            while (kills < KillsWhileStreaming)
            {
                await WhileStreamingAsync(streaming, TimeSpan.FromMilliseconds(random.Next(300, 2000)), deadline.Token);
                killsDuringRequests += stream.RequestInFlight ? 1 : 0;
                await platform.KillAsync();
                kills++;
                platform.Start();
                if (kills % KillsBetweenStartKills == 0)
                {
                    await WhileStreamingAsync(streaming, TimeSpan.FromMilliseconds(random.Next(100, 1500)), deadline.Token);
                    await platform.KillAsync();
                    killsWhileStarting++;
                    platform.Start();
                }

                await platform.WaitReadyAsync(probe, StartTimeout, deadline.Token);
            }

            // The last start takes ticks for a while too, then the stream ends with an answered batch.
            await WhileStreamingAsync(streaming, TimeSpan.FromMilliseconds(random.Next(300, 2000)), deadline.Token);
            await stopStreaming.CancelAsync();
            await streaming;
            var streamed = watch.Elapsed;

            await using var database = NpgsqlDataSource.Create(connectionString);
            await PlatformBacklog.WaitUntilEmptyAsync(database, SettleTimeout, deadline.Token);
            output.WriteLine(
                $"{kills} kills while streaming ({killsDuringRequests} during a request) and {killsWhileStarting} while starting, {platform.Starts} starts in {streamed.TotalSeconds:N1} s; "
                + $"{stream.Acknowledged.Count} ticks in {stream.Batches} batches, {stream.UnansweredAttempts} requests sent again, "
                + $"{stream.BatchesCommittedBeforeTheirAnswerWasLost} batches were committed before their answer was lost; settled after {watch.Elapsed.TotalSeconds:N1} s");
            foreach (var error in stream.ErrorAnswers)
            {
                output.WriteLine("answered with an error and sent again: " + error);
            }

            Assert.True(killsDuringRequests > 0, "no kill landed during a request: the test did not exercise what it claims");
            var problems = new List<string>();
            var bars = await CheckTicksAndBarsAsync(database, stream.Acknowledged, problems);
            await CheckSignalsAsync(database, bars, problems);
            var events = await CheckBarEventsAsync(database, bars, problems);
            await CheckEachEventHandledOnceAsync(database, events, problems);
            await CheckNoDeadLettersAsync(database, problems);
            Assert.True(problems.Count == 0, "after the crashes:\n" + string.Join('\n', problems));
        }
        finally
        {
            // Also ends a stream that is still sending again to a process that is gone.
            await deadline.CancelAsync();
            await platform.KillAsync();
        }
    }

    /// <summary>Waits <paramref name="delay"/>, failing at once when the stream fails (a refused tick, a wrong answer).</summary>
    private static async Task WhileStreamingAsync(Task streaming, TimeSpan delay, CancellationToken cancellationToken)
    {
        await Task.WhenAny(Task.Delay(delay, cancellationToken), streaming);
        if (streaming.IsCompleted)
        {
            await streaming;
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// Every acknowledged tick is stored once and nothing else is; the stored bars of every timeframe are
    /// exactly those worked out by hand from the acknowledged ticks. Returns the stored bars.
    /// </summary>
    private async Task<IReadOnlyList<Bar>> CheckTicksAndBarsAsync(NpgsqlDataSource database, IReadOnlyList<Tick> acknowledged, List<string> problems)
    {
        var storedTicks = await QueryAsync(database, "SELECT symbol, time, bid, ask, last, volume, source FROM ingest.ticks", r => new Tick(
            r.GetString(0), r.GetFieldValue<DateTimeOffset>(1), r.IsDBNull(2) ? null : r.GetDouble(2), r.IsDBNull(3) ? null : r.GetDouble(3),
            r.IsDBNull(4) ? null : r.GetDouble(4), r.GetDouble(5), r.GetString(6)));
        Compare("ingest.ticks", acknowledged, storedTicks, t => t, t => $"{t.Time:O} bid {t.Bid} ask {t.Ask} volume {t.Volume}", problems);

        var storedBars = await QueryAsync(database, "SELECT symbol, timeframe, open_time, open, high, low, close, volume, tick_count FROM ingest.bars", r => new Bar(
            r.GetString(0), Enum.Parse<Timeframe>(r.GetString(1)), r.GetFieldValue<DateTimeOffset>(2), r.GetDouble(3), r.GetDouble(4), r.GetDouble(5),
            r.GetDouble(6), r.GetDouble(7), r.GetInt32(8)));
        var expectedM1 = ExpectedBars.M1(acknowledged);
        var counts = new List<string> { $"{expectedM1.Count} M1" };
        Compare("ingest.bars M1", expectedM1, [.. storedBars.Where(b => b.Timeframe == Timeframe.M1)], BarKey, Describe, problems);
        foreach (var timeframe in ExpectedBars.HigherTimeframes)
        {
            var expected = ExpectedBars.Higher(expectedM1, timeframe);
            counts.Add($"{expected.Count} {timeframe}");
            Compare($"ingest.bars {timeframe}", expected, [.. storedBars.Where(b => b.Timeframe == timeframe)], BarKey, Describe, problems);
        }

        output.WriteLine("expected bars: " + string.Join(", ", counts));
        Assert.True(expectedM1.Count > KillsWhileStreaming, $"only {expectedM1.Count} M1 bars closed: too few to tell anything");
        return storedBars;
    }

    /// <summary>
    /// The signals are exactly those the strategy emits when it runs once over the bars without interruption,
    /// each stored once and published once.
    /// </summary>
    private async Task CheckSignalsAsync(NpgsqlDataSource database, IReadOnlyList<Bar> bars, List<string> problems)
    {
        var strategy = TradingStrategyResource.From(Assert.Single(YamlManifestReader.ReadFile(Path.Combine(PlatformProcess.ResourcesFolder, "crash-m1.yaml"))));
        var engine = new SignalEngine(strategy.Name, strategy.Spec, "EURUSD");
        var expected = bars.Where(b => b.Timeframe == strategy.Spec.Timeframe).OrderBy(b => b.OpenTime)
            .Select(engine.OnBar).Where(e => e.Signal is not null).Select(e => $"{e.Signal!.Id} {e.Signal.Direction} {e.Signal.BarTime:O}").ToList();
        var stored = await QueryAsync(database, "SELECT id, direction, bar_time FROM signals.signals", r => $"{r.GetString(0)} {r.GetString(1)} {r.GetFieldValue<DateTimeOffset>(2):O}");
        var published = await QueryAsync(database, "SELECT payload->'data'->>'id' FROM signals.outbox WHERE topic = 'signals' AND sent_at IS NOT NULL", r => r.GetString(0));
        output.WriteLine($"expected signals: {expected.Count}");
        Assert.True(expected.Count >= 5, $"only {expected.Count} signals are expected: too few to tell anything");
        Compare("signals.signals", expected, stored, s => s, s => s, problems);
        Compare("signal.generated events", [.. expected.Select(s => s.Split(' ')[0])], published, s => s, s => s, problems);
    }

    /// <summary>
    /// The ingest outbox holds exactly one bar.closed event per stored bar, carrying that bar, under an id no
    /// other event has, and all of them were sent. Returns every event of every module's outbox.
    /// </summary>
    private static async Task<IReadOnlyList<(string Topic, string Id)>> CheckBarEventsAsync(NpgsqlDataSource database, IReadOnlyList<Bar> bars, List<string> problems)
    {
        var barEvents = await QueryAsync(database, $"SELECT id, type, payload::text, sent_at IS NOT NULL FROM ingest.outbox WHERE topic = '{Topics.Bars}'", r => (
            Id: r.GetString(0), Type: r.GetString(1), Event: JsonSerializer.Deserialize<CloudEvent>(r.GetString(2), PlatformJson.Options)!, Sent: r.GetBoolean(3)));
        if (barEvents.FirstOrDefault(e => e.Type != CloudEvent.TypeName(Topics.Events.BarClosed)) is { Id: not null } wrongType)
        {
            problems.Add($"ingest.outbox: event {wrongType.Id} on topic {Topics.Bars} is of type {wrongType.Type}");
        }

        if (barEvents.Count(e => !e.Sent) is > 0 and var unsent)
        {
            problems.Add($"ingest.outbox: {unsent} bar events were never sent");
        }

        Compare("ingest.outbox bar.closed events (by the bar they carry)", bars, [.. barEvents.Select(e => e.Event.ReadData<Bar>())], BarKey, Describe, problems);
        if (barEvents.GroupBy(e => e.Id).FirstOrDefault(g => g.Count() > 1) is { } repeatedId)
        {
            problems.Add($"ingest.outbox: event id {repeatedId.Key} is used by {repeatedId.Count()} bar events");
        }

        var events = new List<(string Topic, string Id)>();
        foreach (var schema in await SchemasWithTableAsync(database, "outbox"))
        {
            events.AddRange(await QueryAsync(database, $"SELECT topic, id FROM {schema}.outbox", r => (r.GetString(0), r.GetString(1))));
        }

        return events;
    }

    /// <summary>
    /// No event was lost on its way to a consumer and none was handled twice with effect. A consumer records each
    /// event it handles in its schema's handled_events in the handler's own transaction, keyed by (consumer,
    /// topic, event id): a redelivery after a crash finds the record and is acknowledged without running the
    /// handler, so that record is what "handled with effect" means, and the key makes a second one impossible.
    /// What is left to check is that none is missing or unknown: the hub consumes every topic, so it must have
    /// handled every event of every outbox; any other consumer every event of each topic it consumes.
    /// </summary>
    private static async Task CheckEachEventHandledOnceAsync(NpgsqlDataSource database, IReadOnlyList<(string Topic, string Id)> events, List<string> problems)
    {
        var handled = new List<(string Consumer, string Topic, string Id)>();
        foreach (var schema in await SchemasWithTableAsync(database, "handled_events"))
        {
            handled.AddRange(await QueryAsync(database, $"SELECT consumer, topic, event_id FROM {schema}.handled_events", r => (r.GetString(0), r.GetString(1), r.GetString(2))));
        }

        if (!handled.Any(h => h.Consumer == "hub"))
        {
            problems.Add("hub.handled_events: the hub handled no event at all");
        }

        foreach (var consumer in handled.GroupBy(h => h.Consumer))
        {
            var topics = consumer.Key == "hub" ? events.Select(e => e.Topic).Distinct() : consumer.Select(h => h.Topic).Distinct();
            foreach (var topic in topics)
            {
                Compare($"events on {topic} handled by {consumer.Key}", [.. events.Where(e => e.Topic == topic).Select(e => e.Id)],
                    [.. consumer.Where(h => h.Topic == topic).Select(h => h.Id)], id => id, id => id, problems);
            }
        }
    }

    private static async Task CheckNoDeadLettersAsync(NpgsqlDataSource database, List<string> problems)
    {
        var deadLetters = await QueryAsync(database, "SELECT consumer, topic, event_id, error FROM platform.dead_letters", r => $"{r.GetString(0)} {r.GetString(1)} {r.GetString(2)}: {r.GetString(3)}");
        if (deadLetters.Count > 0)
        {
            problems.Add($"platform.dead_letters holds {deadLetters.Count} events, the first: {string.Join("; ", deadLetters.Take(3))}");
        }
    }

    /// <summary>Adds a problem for items expected but not stored, stored but not expected, stored more than once, or stored with other values.</summary>
    private static void Compare<T, TKey>(string what, IReadOnlyList<T> expected, IReadOnlyList<T> stored, Func<T, TKey> key, Func<T, string> describe, List<string> problems)
        where TKey : notnull
    {
        const int Shown = 5;
        var storedByKey = stored.GroupBy(key).ToDictionary(g => g.Key, g => g.ToList());
        var expectedKeys = expected.Select(key).ToHashSet();
        var missing = expected.Where(e => !storedByKey.ContainsKey(key(e))).ToList();
        var extra = stored.Where(s => !expectedKeys.Contains(key(s))).ToList();
        var repeated = storedByKey.Values.Where(g => g.Count > 1).ToList();
        var different = expected.Where(e => storedByKey.TryGetValue(key(e), out var s) && !EqualityComparer<T>.Default.Equals(s[0], e)).ToList();
        if (missing.Count > 0)
        {
            problems.Add($"{what}: {missing.Count} of {expected.Count} missing, the first: {string.Join("; ", missing.Take(Shown).Select(describe))}");
        }

        if (extra.Count > 0)
        {
            problems.Add($"{what}: {extra.Count} not expected, the first: {string.Join("; ", extra.Take(Shown).Select(describe))}");
        }

        if (repeated.Count > 0)
        {
            problems.Add($"{what}: {repeated.Count} stored more than once, the first: {string.Join("; ", repeated.Take(Shown).Select(g => $"{g.Count} x {describe(g[0])}"))}");
        }

        if (different.Count > 0)
        {
            problems.Add($"{what}: {different.Count} differ, the first: {string.Join("; ", different.Take(Shown).Select(e => $"expected {describe(e)}, stored {describe(storedByKey[key(e)][0])}"))}");
        }
    }

    private static (Timeframe, DateTimeOffset) BarKey(Bar bar) => (bar.Timeframe, bar.OpenTime);

    private static string Describe(Bar bar) =>
        $"{bar.Timeframe} {bar.OpenTime:O} O {bar.Open} H {bar.High} L {bar.Low} C {bar.Close} V {bar.Volume} ticks {bar.TickCount}";

    private static Task<List<string>> SchemasWithTableAsync(NpgsqlDataSource database, string table) =>
        QueryAsync(database, $"SELECT table_schema FROM information_schema.tables WHERE table_name = '{table}' ORDER BY 1", r => r.GetString(0));

    private static async Task<List<T>> QueryAsync<T>(NpgsqlDataSource database, string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var command = database.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }

        return rows;
    }
}
