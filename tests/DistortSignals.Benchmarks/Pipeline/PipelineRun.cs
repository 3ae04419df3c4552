using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Runtime;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using DistortSignals.Core.Market;
using DistortSignals.Host.Run;
using DistortSignals.Platform.Hosting;
using DistortSignals.Platform.Postgres;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DistortSignals.Benchmarks.Pipeline;

/// <summary>
/// The one-process host under load, measured from outside through its HTTP and WebSocket APIs: a private
/// PostgreSQL with durable settings, every role composed as `distortsignals run` composes them, an M1
/// strategy on <see cref="Symbols"/> symbols, no feed (<c>--symbols N</c> takes the first N of them, and
/// <c>--roles</c> composes only the roles named, to see what one part of the load costs). Latencies are
/// distributions (p50, p99), which BenchmarkDotNet's per-operation means do not give, hence a harness of its own.
/// Every mode first runs its load for a warm-up (<c>--warmup</c>: 60 s for latency, whose signals are rare, 15 s for
/// the others) that is not measured, so that the JIT has finished tiering the hot paths:
/// <list type="bullet">
/// <item><c>throughput</c>: ticks posted in 2,000-tick batches as fast as the API answers by one poster per group of five symbols, then the
/// time until the signals role has taken every M1 bar they closed: ticks/s through ingest, bars and signals.</item>
/// <item><c>latency</c>: ticks at a fixed rate below saturation; for each M1 bar and each signal a WebSocket
/// client receives, the time from the acceptance (the 200) of the batch whose tick closed the bar.</item>
/// <item><c>fanout</c>: the same at a fixed rate with many WebSocket clients on the bars channel: deliveries per
/// second over all clients and the same acceptance-to-receipt latency per delivery.</item>
/// </list>
/// </summary>
internal static class PipelineRun
{
    private static readonly string[] Symbols =
    [
        "EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "USDCAD", "USDCHF", "NZDUSD", "EURGBP", "EURJPY", "GBPJPY",
        "AUDJPY", "EURAUD", "EURCHF", "GBPCHF", "CADJPY", "AUDNZD", "EURCAD", "GBPAUD", "CHFJPY", "NZDJPY",
    ];

    private static readonly string[] RequiredRoles = ["ingest", "signals", "hub"];

    /// <summary>Far in the past, so that only ticks close bars and never the wall-clock watermark.</summary>
    private static readonly DateTimeOffset MarketStart = new(2025, 6, 2, 0, 0, 0, TimeSpan.Zero);

    public static async Task<int> RunAsync(string[] args)
    {
        var mode = args.ElementAtOrDefault(0) ?? "";
        var seconds = Option(args, "--seconds", 30);
        var rate = Option(args, "--rate", 2000);
        var clients = Option(args, "--clients", 500);
        var ticksPerMinute = Option(args, "--ticks-per-minute", 10);
        // The first signal comes with the 27th bar (27 s in), and with 20 symbols the signal path then runs about 40
        // times a minute, so its code reaches the JIT's optimised tier about a minute in; the bar path within seconds.
        var warmup = TimeSpan.FromSeconds(Option(args, "--warmup", mode == "latency" ? 60 : 15));
        var symbolCount = Option(args, "--symbols", Symbols.Length);
        var roles = OptionText(args, "--roles")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (mode is not ("throughput" or "latency" or "fanout"))
        {
            await Console.Error.WriteLineAsync("usage: pipeline throughput|latency|fanout [--seconds N] [--rate TICKS_PER_S] [--clients N] [--ticks-per-minute N] [--warmup SECONDS] [--symbols N] [--roles ingest,signals,hub,...]");
            return 2;
        }

        if (symbolCount < 1 || symbolCount > Symbols.Length)
        {
            await Console.Error.WriteLineAsync($"--symbols: {symbolCount} must be between 1 and {Symbols.Length}");
            return 2;
        }

        var knownRoles = ModuleCatalog.Roles.Where(r => r != "all").ToArray();
        if (roles?.FirstOrDefault(r => !knownRoles.Contains(r, StringComparer.Ordinal)) is { } unknown)
        {
            await Console.Error.WriteLineAsync($"--roles: '{unknown}' is not one of {string.Join(", ", knownRoles)}");
            return 2;
        }

        // The load posts ticks, waits for the signals role's bars and listens on the hub: those three are always needed.
        if (roles is not null && RequiredRoles.FirstOrDefault(r => !roles.Contains(r, StringComparer.Ordinal)) is { } missing)
        {
            await Console.Error.WriteLineAsync($"--roles: '{string.Join(',', roles)}' lacks {missing}; the load needs {string.Join(", ", RequiredRoles)}");
            return 2;
        }

        if (ticksPerMinute < 2 || 60_000 % ticksPerMinute != 0)
        {
            await Console.Error.WriteLineAsync($"--ticks-per-minute: {ticksPerMinute} must be at least 2 and divide a minute into whole milliseconds");
            return 2;
        }

        await using var cluster = await PrivatePostgresCluster.StartAsync();
        var symbols = Symbols[..symbolCount];
        await using var host = await StartHostAsync(cluster.ConnectionString, symbols, roles);
        Console.WriteLine($"pipeline {mode}: {symbols.Length} symbols, {ticksPerMinute} ticks per market minute, roles {host.Roles}, host at {host.Address}");
        // `distortsignals` runs the server GC (a web project's default) and a thread pool that does not spin (its
        // project file); this process has neither unless told, and cannot switch once started.
        if (!GCSettings.IsServerGC)
        {
            Console.WriteLine("note: this run has the workstation GC and `distortsignals run` the server GC; DOTNET_gcServer=1 gives it the host's");
        }

        if (Environment.GetEnvironmentVariable("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit") != "0")
        {
            Console.WriteLine("note: this run's thread pool spins and that of `distortsignals run` does not; DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 gives it the host's");
        }
        switch (mode)
        {
            case "throughput":
                await ThroughputAsync(host, symbols, warmup, seconds, ticksPerMinute);
                break;
            case "latency":
                await LatencyAsync(host, symbols, warmup, seconds, rate, ticksPerMinute, clients: 1, channels: ["bars", "signals"]);
                break;
            default:
                await LatencyAsync(host, symbols, warmup, seconds, rate, ticksPerMinute, clients, channels: ["bars"]);
                break;
        }

        return 0;
    }

    private static async Task ThroughputAsync(RunningHost host, string[] symbols, TimeSpan warmup, int seconds, int ticksPerMinute)
    {
        const int posters = 4;
        var groups = symbols.Chunk(Math.Max(1, symbols.Length / posters)).ToArray();
        var stop = Stopwatch.StartNew();
        var end = warmup + TimeSpan.FromSeconds(seconds);
        var measuredFrom = Task.Delay(warmup).ContinueWith(_ => CpuTime.Read(), TaskScheduler.Default);
        var accepted = new long[groups.Length];
        var minutes = new int[groups.Length];
        await Task.WhenAll(groups.Select((group, i) => Task.Run(async () =>
        {
            var feed = new TickFeed(group, ticksPerMinute);
            while (stop.Elapsed < end)
            {
                // Only batches begun after the warm-up count; what the warm-up left queued is still worked off inside the
                // measured time, which can only lower the figure.
                var measured = stop.Elapsed >= warmup;
                var count = await host.PostTicksAsync(feed.NextSteps(2000 / group.Length));
                accepted[i] += measured ? count : 0;
            }

            minutes[i] = feed.Minutes;
        })));
        var posted = stop.Elapsed - warmup;

        // Every symbol's last minute is still forming; every earlier one is a closed M1 bar the signals role stores.
        var expectedBars = groups.Select((group, i) => (long)group.Length * (minutes[i] - 1)).Sum();
        while (await host.CountAsync("SELECT count(*) FROM signals.bars WHERE timeframe = 'M1'") < expectedBars)
        {
            await Task.Delay(100);
        }

        var processed = stop.Elapsed - warmup;
        var ticks = accepted.Sum();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"after a {warmup.TotalSeconds:F0} s warm-up, ticks accepted {ticks:N0} in {posted.TotalSeconds:F1} s: {ticks / posted.TotalSeconds:N0} ticks/s through ingest"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"all {expectedBars:N0} M1 bars taken by the signals role after {processed.TotalSeconds:F1} s: {ticks / processed.TotalSeconds:N0} ticks/s through ingest, bars and signals"));
        Console.WriteLine(CpuTime.Read().Since(await measuredFrom));
    }

    private static async Task LatencyAsync(RunningHost host, string[] symbols, TimeSpan warmup, int seconds, int rate, int ticksPerMinute, int clients, string[] channels)
    {
        var accepted = new ConcurrentDictionary<(string Symbol, DateTimeOffset Minute), long>();
        var received = new ConcurrentBag<(string Kind, (string Symbol, DateTimeOffset Minute) ClosedBy, long At)>();
        using var gcPauses = new GcPauseListener();
        using var dispatcher = new DispatcherCounts();
        using var stop = new CancellationTokenSource();
        var sockets = new List<ClientWebSocket>();
        for (var i = 0; i < clients; i++)
        {
            sockets.Add(await host.SubscribeAsync(channels));
        }

        var receivers = sockets.Select(socket => Task.Run(() => ReceiveAsync(socket, received, stop.Token))).ToList();
        var feed = new TickFeed(symbols, ticksPerMinute);
        var batchTicks = symbols.Length * (ticksPerMinute / 2);
        var interval = TimeSpan.FromSeconds((double)batchTicks / rate);
        var clock = Stopwatch.StartNew();
        var batches = 0;
        var measuredBatches = 0;
        CpuTime? measuredFrom = null;
        Pauses? pausesFrom = null;
        long measuredSince = 0;
        var measuredSinceUtc = DateTime.UtcNow;
        var dispatcherFrom = dispatcher.Read();
        while (clock.Elapsed < warmup + TimeSpan.FromSeconds(seconds))
        {
            var batch = feed.NextSteps(ticksPerMinute / 2);
            var measured = clock.Elapsed >= warmup;
            if (measured && measuredFrom is null)
            {
                measuredFrom = CpuTime.Read();
                pausesFrom = await Pauses.ReadAsync(host);
                measuredSince = Stopwatch.GetTimestamp();
                measuredSinceUtc = DateTime.UtcNow;
                dispatcherFrom = dispatcher.Read();
            }

            await host.PostTicksAsync(batch);
            var now = Stopwatch.GetTimestamp();
            // The feed's ticks fall on whole steps that divide a minute, so a minute's first tick is at its very start.
            foreach (var opening in batch.Where(t => measured && t.Time.Second == 0 && t.Time.Millisecond == 0))
            {
                accepted.TryAdd((opening.Symbol, opening.Time), now);
            }

            batches++;
            measuredBatches += measured ? 1 : 0;
            var next = interval * batches;
            if (next > clock.Elapsed)
            {
                await Task.Delay(next - clock.Elapsed);
            }
        }

        var sent = clock.Elapsed - warmup;
        var cpu = CpuTime.Read().Since(measuredFrom ?? CpuTime.Read());
        var pauses = (await Pauses.ReadAsync(host)).Since(pausesFrom ?? await Pauses.ReadAsync(host));
        var dispatcherTo = dispatcher.Read();

        // What is still in flight arrives within a second or two; then the clients close.
        await Task.Delay(TimeSpan.FromSeconds(3));
        await stop.CancelAsync();
        await Task.WhenAll(receivers);
        foreach (var socket in sockets)
        {
            socket.Abort();
            socket.Dispose();
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"after a {warmup.TotalSeconds:F0} s warm-up, {measuredBatches * batchTicks:N0} ticks at {measuredBatches * batchTicks / sent.TotalSeconds:N0} ticks/s for {sent.TotalSeconds:F0} s, {clients} WebSocket client(s) on {string.Join(", ", channels)}"));
        // Matched after the run: an event may reach a client before the poster has read the 200 of its batch, and
        // then counts as 0 ms.
        var latencies = received
            .Where(r => accepted.ContainsKey(r.ClosedBy))
            .GroupBy(r => r.Kind)
            .Select(g =>
            {
                // How many symbols' events of this kind one market minute's burst brought: the slowest signals may be
                // those of the bursts that give the most.
                var perMinute = g.GroupBy(r => r.ClosedBy.Minute).ToDictionary(m => m.Key, m => m.Select(r => r.ClosedBy.Symbol).Distinct().Count());
                return (Kind: g.Key, Values: g.Select(r => (
                    Ms: Math.Max(0, Stopwatch.GetElapsedTime(accepted[r.ClosedBy], r.At).TotalMilliseconds),
                    Into: Stopwatch.GetElapsedTime(measuredSince, accepted[r.ClosedBy]).TotalSeconds,
                    InBurst: perMinute[r.ClosedBy.Minute],
                    ClosingWith: LongestClosingWith(r.ClosedBy.Minute))));
            });
        foreach (var (kind, values) in latencies.OrderBy(l => l.Kind, StringComparer.Ordinal))
        {
            var sorted = values.OrderBy(v => v.Ms).ToArray();
            var ms = sorted.Select(v => v.Ms).ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{kind}: {ms.Length:N0} deliveries ({ms.Length / sent.TotalSeconds:N0}/s), acceptance to receipt p50 {Percentile(ms, 0.50):F1} ms, p99 {Percentile(ms, 0.99):F1} ms, max {ms.LastOrDefault():F1} ms"));
            // When the slowest came, to read beside the checkpoints in PostgreSQL's log and the pauses below.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  slowest five, at seconds into the measured time, with the {kind} of their minute's burst: {string.Join("; ", sorted.TakeLast(5).Reverse().Select(v => $"{v.Ms:F1} ms at {v.Into:F0} s, 1 of {v.InBurst}"))}"));
            // The bursts by their size: what the slowest of each size took.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  by burst size, bursts and their slowest: {string.Join("; ", sorted.GroupBy(v => v.InBurst).OrderBy(b => b.Key).Select(b => $"{b.Key}: {b.Count() / b.Key} at {b.Max(v => v.Ms):F1} ms"))}"));
            // Ingest closes every timeframe's bar with the M1 bar that ends it, so some bursts carry several times the events.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  by the longest timeframe whose bar closed with theirs: {string.Join("; ", sorted.GroupBy(v => v.ClosingWith).OrderBy(b => b.Key).Select(b => $"{b.Key} {b.Count()}, p50 {Percentile(b.Select(v => v.Ms).ToArray(), 0.50):F1} ms, max {b.Max(v => v.Ms):F1} ms"))}"));
        }

        Console.WriteLine(cpu);
        Console.WriteLine(pauses);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  deliveries retried {dispatcherTo.Retried - dispatcherFrom.Retried}, dead-lettered {dispatcherTo.DeadLettered - dispatcherFrom.DeadLettered}; runs done again one delivery at a time {dispatcherTo.Redone - dispatcherFrom.Redone}"));
        var longest = gcPauses.Pauses.Where(p => p.At >= measuredSinceUtc).OrderByDescending(p => p.Length).Take(5);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  longest GC pauses, at seconds into the measured time: {string.Join("; ", longest.Select(p => p.Describe(measuredSinceUtc)))}"));
    }

    private static async Task ReceiveAsync(
        ClientWebSocket socket, ConcurrentBag<(string Kind, (string Symbol, DateTimeOffset Minute) ClosedBy, long At)> received, CancellationToken stop)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (!stop.IsCancellationRequested)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, stop);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                var at = Stopwatch.GetTimestamp();
                using var json = JsonDocument.Parse(message.ToArray());
                if (json.RootElement.GetProperty("type").GetString() != "event")
                {
                    continue;
                }

                var channel = json.RootElement.GetProperty("channel").GetString()!;
                var data = json.RootElement.GetProperty("event").GetProperty("data");
                var symbol = data.GetProperty("symbol").GetString()!;
                var timeframe = data.GetProperty("timeframe").GetString();
                var closedBy = channel == "signals"
                    ? data.GetProperty("barTime").GetDateTimeOffset().AddMinutes(1)
                    : data.GetProperty("closeTime").GetDateTimeOffset();
                if (timeframe == "M1")
                {
                    received.Add(($"{channel} (M1)", (symbol, closedBy), at));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static int Option(string[] args, string name, int fallback) =>
        OptionText(args, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    private static string? OptionText(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <param name="roles">The roles to compose, or null for every role.</param>
    private static async Task<RunningHost> StartHostAsync(string connectionString, string[] symbols, string[]? roles)
    {
        var resources = Directory.CreateTempSubdirectory("ds-pipeline-").FullName;
        await File.WriteAllTextAsync(Path.Combine(resources, "bench-m1.yaml"), $"""
            apiVersion: trading.distortsignals.io/v1alpha1
            kind: TradingStrategy
            metadata:
              name: bench-m1
            spec:
              symbols: [{string.Join(", ", symbols)}]
              timeframe: M1
              weights: {"{momentum: 0.5, meanReversion: 0.25, breakout: 0.25}"}
              minStrength: 0.3
              indicators: {"{emaFast: 5, emaSlow: 12, rsi: 7, bollinger: 10, atr: 7, adx: 7, donchian: 10, volume: 10, atrPercentile: 20}"}
            """);
        var builder = PlatformHost.CreateBuilder(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Resources"] = resources,
            ["Postgres:ConnectionString"] = connectionString,
            ["Feed:Mode"] = "none",
            ["Security:RateLimit:Burst"] = "1000000",
            ["Security:RateLimit:TokensPerPeriod"] = "1000000",
            ["Hub:ClientQueueSize"] = "100000",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        var settings = builder.Configuration.Get<HostSettings>()!;
        IReadOnlyList<IModule> modules = [.. PlatformHost.Modules(settings).Where(m => roles is null || roles.Contains(m.Name, StringComparer.Ordinal))];
        var app = PlatformHost.Build(builder, settings, modules, ResourceSet.LoadFolder(resources), connectionString);
        await app.StartAsync();
        var keys = app.Services.GetRequiredService<ApiKeyStore>();
        return new RunningHost(
            app,
            string.Join(",", modules.Select(m => m.Name)),
            new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()),
            (await keys.CreateAsync(Scopes.Ingest, "pipeline")).Secret,
            (await keys.CreateAsync(Scopes.Reader, "pipeline")).Secret,
            app.Services.GetRequiredService<NpgsqlDataSource>());
    }

    /// <summary>
    /// The machine's CPU time from /proc/stat. Busy time (user and system, over every process here: host, database
    /// and load) measures the work a fixed load costs, whatever the hypervisor's other guests do. This is a virtual
    /// machine, and time the hypervisor gives to other guests ("steal") stalls every thread here at once, so a run's
    /// latencies are read beside it.
    /// </summary>
    private sealed record CpuTime(long Total, long Busy, long Steal)
    {
        public static CpuTime Read()
        {
            // "cpu  user nice system idle iowait irq softirq steal ...", in clock ticks over all cores.
            var ticks = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(field => long.Parse(field, CultureInfo.InvariantCulture)).ToArray();
            return new CpuTime(ticks.Take(8).Sum(), ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6], ticks[7]);
        }

        public string Since(CpuTime start)
        {
            var total = Math.Max(1, Total - start.Total);
            return string.Create(CultureInfo.InvariantCulture,
                $"CPU while measured, of both cores: busy {100.0 * (Busy - start.Busy) / total:F1}%, stolen by the hypervisor {100.0 * (Steal - start.Steal) / total:F1}%");
        }
    }

    /// <summary>
    /// What stops the host's threads or slows its commits besides the load itself: the garbage collector's pauses (its
    /// mode is the benchmark process's, which <c>DOTNET_gcServer</c> sets) and PostgreSQL's checkpoints.
    /// </summary>
    private sealed record Pauses(int Gen0, int Gen1, int Gen2, TimeSpan GcPause, long Checkpoints, double CheckpointWriteMs, double CheckpointSyncMs)
    {
        public static async Task<Pauses> ReadAsync(RunningHost host)
        {
            var (checkpoints, writeMs, syncMs) = await host.CheckpointsAsync();
            return new Pauses(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), checkpoints, writeMs, syncMs);
        }

        public string Since(Pauses start) => string.Create(CultureInfo.InvariantCulture,
            $"while measured: {(GCSettings.IsServerGC ? "server" : "workstation")} GC, {Gen0 - start.Gen0} gen0, {Gen1 - start.Gen1} gen1 and {Gen2 - start.Gen2} gen2 collections pausing {(GcPause - start.GcPause).TotalMilliseconds:F0} ms in all; " +
            $"{Checkpoints - start.Checkpoints} PostgreSQL checkpoint(s) writing for {(CheckpointWriteMs - start.CheckpointWriteMs) / 1000:F1} s and syncing for {(CheckpointSyncMs - start.CheckpointSyncMs) / 1000:F1} s");
    }

    /// <summary>The longest timeframe whose bar ends at <paramref name="close"/>, the end of an M1 bar (M1 when none does).</summary>
    private static Timeframe LongestClosingWith(DateTimeOffset close) => Enum.GetValues<Timeframe>().Last(t => t.IsAligned(close));

    /// <summary>Ticks of several symbols in market-time order: <paramref name="ticksPerMinute"/> per symbol per minute, at whole steps that divide a minute.</summary>
    private sealed class TickFeed(IReadOnlyList<string> symbols, int ticksPerMinute)
    {
        private readonly SyntheticMarket[] _markets = [.. symbols.Select((s, i) => new SyntheticMarket(s, 1.0 + i * 0.1, (ulong)(i + 1)))];
        private DateTimeOffset _next = MarketStart;

        public int Minutes { get; private set; }

        /// <summary>The next <paramref name="steps"/> steps: one tick per symbol each.</summary>
        public List<Tick> NextSteps(int steps)
        {
            var ticks = new List<Tick>(steps * _markets.Length);
            for (var step = 0; step < steps; step++)
            {
                ticks.AddRange(_markets.Select(m => m.NextTick(_next, ticksPerMinute, 0.0002, "bench")));
                _next = _next.AddMilliseconds(60_000 / ticksPerMinute);
                if (_next.Second == 0 && _next.Millisecond == 0)
                {
                    Minutes++;
                }
            }

            return ticks;
        }
    }

    private sealed class RunningHost(WebApplication app, string roles, Uri address, string ingestKey, string readerKey, NpgsqlDataSource database) : IAsyncDisposable
    {
        private readonly HttpClient _client = new() { BaseAddress = address };

        public Uri Address => address;

        /// <summary>The roles composed, comma-separated.</summary>
        public string Roles => roles;

        /// <summary>Posts one batch; returns how many ticks were accepted, failing on anything but 200.</summary>
        public async Task<int> PostTicksAsync(IReadOnlyList<Tick> ticks)
        {
            // NDJSON written as UTF-8 into a pooled buffer: the load generator shares the host's two cores, so it is kept lean.
            var body = ArrayPool<byte>.Shared.Rent(ticks.Count * 160);
            string answer;
            try
            {
                var length = 0;
                foreach (var tick in ticks)
                {
                    if (!Utf8.TryWrite(body.AsSpan(length), CultureInfo.InvariantCulture,
                            $"{{\"symbol\":\"{tick.Symbol}\",\"time\":\"{tick.Time:yyyy-MM-ddTHH:mm:ss.fff}Z\",\"bid\":{tick.Bid},\"ask\":{tick.Ask},\"volume\":{tick.Volume}}}\n", out var written))
                    {
                        throw new InvalidOperationException($"a tick of {tick.Symbol} does not fit the body buffer");
                    }

                    length += written;
                }

                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/ticks") { Content = new ByteArrayContent(body, 0, length) };
                request.Content.Headers.ContentType = new("application/x-ndjson");
                request.Headers.Add(ApiKeyAuthenticationHandler.HeaderName, ingestKey);
                using var response = await _client.SendAsync(request);
                answer = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"POST /api/v1/ticks answered {(int)response.StatusCode}: {answer}");
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(body);
            }

            return JsonDocument.Parse(answer).RootElement.GetProperty("accepted").GetInt32();
        }

        public async Task<ClientWebSocket> SubscribeAsync(string[] channels)
        {
            var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader(ApiKeyAuthenticationHandler.HeaderName, readerKey);
            await socket.ConnectAsync(new Uri($"ws://{address.Authority}/ws"), CancellationToken.None);
            var subscribe = JsonSerializer.SerializeToUtf8Bytes(new { type = "subscribe", channels });
            await socket.SendAsync(subscribe, WebSocketMessageType.Text, true, CancellationToken.None);
            return socket;
        }

        public async Task<long> CountAsync(string sql)
        {
            await using var command = database.CreateCommand(sql);
            return (long)(await command.ExecuteScalarAsync())!;
        }

        /// <summary>Checkpoints begun so far, and the time they spent writing and syncing, in milliseconds.</summary>
        public async Task<(long Count, double WriteMs, double SyncMs)> CheckpointsAsync()
        {
            await using var connection = await database.OpenConnectionAsync();
            // PostgreSQL 17 moved the checkpointer's statistics out of pg_stat_bgwriter.
            await using var command = new NpgsqlCommand(
                connection.PostgreSqlVersion.Major >= 17
                    ? "SELECT num_timed + num_requested, write_time, sync_time FROM pg_stat_checkpointer"
                    : "SELECT checkpoints_timed + checkpoints_req, checkpoint_write_time, checkpoint_sync_time FROM pg_stat_bgwriter",
                connection);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (reader.GetInt64(0), reader.GetDouble(1), reader.GetDouble(2));
        }

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
