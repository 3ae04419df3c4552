using System.Net.Http.Json;
using System.Text.Json;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Market;
using DistortSignals.Core.Risk;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform;
using DistortSignals.Platform.Accounts;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DistortSignals.Risk.Tests;

/// <summary>
/// The risk module as the host composes it, started: the in-process platform (actor runtime with its reminders,
/// dispatcher, relay) over a new test database, the security layer and the module's endpoints on TestServer.
/// Events are handed to the module's subscriptions the way the dispatcher does (<see cref="DeliverAsync"/>); the
/// module's clock is <see cref="Clock"/>.
/// </summary>
internal sealed class RiskTestHost : IAsyncDisposable
{
    public const string Account = "paper";

    /// <summary>Wednesday 18 March 2026, 11:00 in New York: the trading day began at 21:00Z the day before and ends at 21:00Z.</summary>
    public static readonly DateTimeOffset Start = new(2026, 3, 18, 15, 0, 0, TimeSpan.Zero);

    private readonly WebApplication _app;
    private int _events;

    private RiskTestHost(WebApplication app, MutableClock clock)
    {
        _app = app;
        Clock = clock;
    }

    public MutableClock Clock { get; }

    public NpgsqlDataSource DataSource => Get<NpgsqlDataSource>();

    public HttpClient Client => _app.GetTestClient();

    public T Get<T>()
        where T : notnull => _app.Services.GetRequiredService<T>();

    /// <summary>Starts the host; <paramref name="replace"/> may then replace services of the platform (its registrations come last, so they win).</summary>
    public static async Task<RiskTestHost> StartAsync(Action<IServiceCollection>? replace = null)
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        var clock = new MutableClock(Start);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        var services = builder.Services;
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddSingleton(new ResourceSet([], [], new Dictionary<string, SecretResource>()));
        services.AddSingleton<TimeProvider>(clock);
        services.AddInProcessPlatform(FastPlatform.Timings);
        services.AddPlatformSecurity(builder.Configuration);
        var module = new RiskModule();
        module.ConfigureServices(services, builder.Configuration);
        replace?.Invoke(services);
        var app = builder.Build();
        app.UsePlatformSecurity();
        module.MapEndpoints(app);
        await app.StartAsync();
        return new RiskTestHost(app, clock);
    }

    /// <summary>An account with EURUSD (pip 0.0001, 10 per pip and lot) and the default limits unless changed.</summary>
    public static BrokerAccountSpec Spec(RiskLimits? risk = null) => new()
    {
        Broker = BrokerKind.Paper,
        CredentialsSecretRef = new SecretKeyReference { Name = "paper-key", Key = "key" },
        Risk = risk ?? new RiskLimits(),
        Instruments = [new InstrumentSpec { Symbol = "EURUSD", ContractSize = 100_000, PipSize = 0.0001, PipValuePerLot = 10 }],
        DirectiveTtlSeconds = 60,
    };

    public Task ConfigureAsync(BrokerAccountSpec spec) =>
        Get<IAccountConfigurationSink>().ApplyAsync(new AccountConfiguration(Account, spec, null), CancellationToken.None);

    /// <summary>A buy (or sell) signal on EURUSD at 1.1000 with a 50-pip stop, naming <see cref="Account"/>.</summary>
    public static Signal Signal(string id, SignalDirection direction = SignalDirection.Buy)
    {
        var stop = direction == SignalDirection.Buy ? 1.095 : 1.105;
        return new Signal(id, "trend", "EURUSD", Timeframe.H1, Start.AddHours(-1), Start, direction, 0.8, 1.1, stop, 1.1 + 2 * (1.1 - stop), 0.003,
            new MarketRegime(TrendRegime.Trending, VolatilityRegime.Normal, 30, 0.5), new ComponentScores(0.8, 0, 0, 0.8));
    }

    /// <summary>signal.generated as the signals role publishes it: the signal's fields and the strategy's accounts.</summary>
    public static CloudEvent SignalGenerated(Signal signal, params string[] accounts)
    {
        var data = JsonSerializer.SerializeToNode(signal, PlatformJson.Options)!.AsObject();
        data["accounts"] = JsonSerializer.SerializeToNode(accounts.Length > 0 ? accounts : [Account], PlatformJson.Options);
        return CloudEvent.Create(signal.Id, "signals", Topics.Events.SignalGenerated, signal.Symbol, signal.Time, data);
    }

    public CloudEvent Fill(DirectiveAction action, OrderSide side, double lots, double price, ExecutionOutcome outcome = ExecutionOutcome.Filled)
    {
        var n = Interlocked.Increment(ref _events);
        var directive = new TradeDirective($"dt-{n}", Account, "EURUSD", action, side, OrderType.Market, lots, price, null, null, 10, 1, $"DS:dt-{n}",
            Clock.GetUtcNow(), Clock.GetUtcNow().AddMinutes(1), "trend", $"sig-{n}");
        var report = new ExecutionReported($"rep-{n}", directive, outcome, n, outcome == ExecutionOutcome.Filled ? lots : 0, price, 10009, null, Clock.GetUtcNow(), "t-1", Clock.GetUtcNow());
        return CloudEvent.Create($"rep-{n}", "gateway", Topics.Events.ExecutionReported, Account, Clock.GetUtcNow(), report);
    }

    public CloudEvent Heartbeat(double equity)
    {
        var n = Interlocked.Increment(ref _events);
        var heartbeat = new AccountHeartbeat(Account, "t-1", equity, equity, 0, equity, [], Clock.GetUtcNow(), Clock.GetUtcNow(), true);
        return CloudEvent.Create($"hb-{n}", "gateway", Topics.Events.AccountHeartbeat, Account, Clock.GetUtcNow(), heartbeat);
    }

    /// <summary>bar.closed of an EURUSD H1 bar opening at <paramref name="openTime"/> (default <see cref="Start"/>) with every price at <paramref name="close"/>.</summary>
    public static CloudEvent BarClosed(double close, DateTimeOffset? openTime = null)
    {
        var bar = new Bar("EURUSD", Timeframe.H1, openTime ?? Start, close, close, close, close, 10, 1);
        return CloudEvent.Create($"bar-{close}-{bar.OpenTime:O}", "ingest", Topics.Events.BarClosed, "EURUSD", bar.CloseTime, bar);
    }

    /// <summary>Handles one event as the dispatcher does, in a transaction that commits on Success.</summary>
    public async Task DeliverAsync(string topic, CloudEvent cloudEvent)
    {
        var subscription = Get<IEnumerable<EventSubscription>>().Single(s => s.Topic == topic && s.Consumer == "risk");
        await using var connection = await DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        Assert.Equal(DeliveryOutcome.Success, await DeliveryDispatcher.HandleOnceAsync(transaction, subscription, cloudEvent, CancellationToken.None));
        await transaction.CommitAsync();
    }

    /// <summary>The events of one type in <c>risk.outbox</c>, oldest first.</summary>
    public async Task<List<T>> OutboxAsync<T>(string name)
    {
        await using var command = DataSource.CreateCommand("SELECT payload::text FROM risk.outbox WHERE type = @type ORDER BY seq");
        command.Parameters.AddWithValue("type", CloudEvent.TypeName(name));
        var events = new List<T>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            events.Add(JsonSerializer.Deserialize<CloudEvent>(reader.GetString(0), PlatformJson.Options)!.ReadData<T>());
        }

        return events;
    }

    public Task<List<RiskDecision>> DecisionsAsync() => OutboxAsync<RiskDecision>(Topics.Events.RiskDecided);

    public Task<List<TradeDirective>> DirectivesAsync() => OutboxAsync<TradeDirective>(Topics.Events.DirectiveCreated);

    public Task<List<BreakerChanged>> BreakerChangesAsync() => OutboxAsync<BreakerChanged>(Topics.Events.BreakerChanged);

    public async Task<AccountStateSnapshot> StateAsync() => (await OutboxAsync<AccountStateSnapshot>(Topics.Events.AccountState))[^1];

    public async Task<long> CountAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public async Task<HttpClient> ClientWithKeyAsync(string scope, string name)
    {
        var key = await Get<ApiKeyStore>().CreateAsync(scope, name);
        var client = _app.GetTestClient();
        client.DefaultRequestHeaders.Add("X-API-Key", key.Secret);
        return client;
    }

    public static JsonContent Json(object body) => JsonContent.Create(body);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A clock the test moves.</summary>
internal sealed class MutableClock(DateTimeOffset now) : TimeProvider
{
    private DateTimeOffset _now = now;

    public DateTimeOffset Now
    {
        get => _now;
        set => _now = value;
    }

    public override DateTimeOffset GetUtcNow() => _now;
}
