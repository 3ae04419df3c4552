using System.Net.Http.Json;
using System.Text.Json;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Platform;
using DistortSignals.Platform.Accounts;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DistortSignals.Gateway.Tests;

/// <summary>
/// The gateway as the host composes it, on real Kestrel (loopback, a free port) over a real test database: the
/// in-process platform with its loops shortened, the security layer, the account configuration push and the
/// module. Tests drive it as risk would, by publishing directive.created, breaker.changed and account.state through
/// the platform's publisher, and as an EA would, over HTTP with the account's key.
/// </summary>
internal sealed class GatewayTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayTestHost(WebApplication app, Uri address, IReadOnlyDictionary<string, string> keys, string connectionString)
    {
        _app = app;
        Address = address;
        Keys = keys;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    public Uri Address { get; }

    /// <summary>The EA key of each account.</summary>
    public IReadOnlyDictionary<string, string> Keys { get; }

    public NpgsqlDataSource DataSource => Get<NpgsqlDataSource>();

    public T Get<T>()
        where T : notnull => _app.Services.GetRequiredService<T>();

    /// <param name="accounts">Account name and broker; each gets a fresh EA key in its own Secret.</param>
    /// <param name="settings">Configuration on top of the test defaults (for example Gateway:ClaimLease).</param>
    /// <param name="restartOf">A stopped host whose database and keys this one takes over (a restart).</param>
    public static async Task<GatewayTestHost> StartAsync(
        IEnumerable<(string Name, BrokerKind Broker)> accounts, IDictionary<string, string?>? settings = null, GatewayTestHost? restartOf = null)
    {
        var connectionString = restartOf?.ConnectionString ?? await TestPostgres.CreateDatabaseAsync();
        var keys = new Dictionary<string, string>(restartOf?.Keys ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        var resources = new List<BrokerAccountResource>();
        var secrets = new Dictionary<string, SecretResource>(StringComparer.Ordinal);
        foreach (var (name, broker) in accounts)
        {
            keys.TryAdd(name, ApiKeySecret.Generate());
            secrets[name + "-ea"] = new SecretResource(name + "-ea", new Dictionary<string, string> { ["apiKey"] = keys[name] });
            resources.Add(new BrokerAccountResource(name, null, Spec(name, broker)));
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:SweepInterval"] = "00:00:00.05",
            ["Gateway:PollSeconds"] = "1",
            ["Security:RateLimit:Burst"] = "100000",
            ["Security:RateLimit:TokensPerPeriod"] = "100000",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        var services = builder.Services;
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddSingleton(new ResourceSet([], resources, secrets));
        services.AddInProcessPlatform(FastPlatform.Timings);
        services.AddPlatformSecurity(builder.Configuration);
        var module = new GatewayModule();
        module.ConfigureServices(services, builder.Configuration);
        services.AddLoadedAccountsPush();

        var app = builder.Build();
        app.UsePlatformSecurity();
        AccountConfigurationEndpoints.Map(app);
        module.MapEndpoints(app);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new GatewayTestHost(app, address, keys, connectionString);
    }

    public static BrokerAccountSpec Spec(string name, BrokerKind broker) => new()
    {
        Broker = broker,
        CredentialsSecretRef = new SecretKeyReference { Name = name + "-ea", Key = "apiKey" },
        Instruments =
        [
            new InstrumentSpec { Symbol = "EURUSD", ContractSize = 100_000, PipSize = 0.0001, PipValuePerLot = 10 },
        ],
    };

    /// <summary>A client that sends <paramref name="key"/> (none when null).</summary>
    public HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, key);
        }

        return client;
    }

    public HttpClient Ea(string account) => Client(Keys[account]);

    public async Task<string> ReaderKeyAsync() => (await Get<ApiKeyStore>().CreateAsync(Scopes.Reader, "test reader")).Secret;

    public Task PublishAsync(string topic, CloudEvent cloudEvent) => Get<IEventPublisher>().PublishEventAsync(topic, cloudEvent, CancellationToken.None);

    public static TradeDirective Directive(string id, string account, TimeSpan? ttl = null, OrderSide side = OrderSide.Buy, DirectiveAction action = DirectiveAction.Open)
    {
        var now = DateTimeOffset.UtcNow;
        return new TradeDirective(id, account, "EURUSD", action, side, OrderType.Market, 0.1, null, 1.0, 1.2, 10, 4242, TradeDirective.CommentPrefix + id,
            now, now + (ttl ?? TimeSpan.FromMinutes(5)), "test-strategy", "signal-" + id);
    }

    /// <summary>Publishes directive.created as risk does and waits until the gateway stored it.</summary>
    public async Task CreateAsync(TradeDirective directive)
    {
        await PublishAsync(Topics.Directives, CloudEvent.Create("created-" + directive.Id, "risk", Topics.Events.DirectiveCreated, directive.Account, directive.CreatedAt, directive));
        await Eventually.UntilAsync($"directive {directive.Id} is stored", async () => await StateAsync(directive.Id) is not null);
    }

    public async Task<DirectiveState?> StateAsync(string id)
    {
        await using var command = DataSource.CreateCommand("SELECT state FROM gateway.directives WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteScalarAsync() is string state ? Enum.Parse<DirectiveState>(state) : null;
    }

    /// <summary>The events in gateway.outbox, in the order they were added.</summary>
    public async Task<List<CloudEvent>> OutboxAsync(string? type = null)
    {
        await using var command = DataSource.CreateCommand("SELECT payload::text FROM gateway.outbox ORDER BY seq");
        var events = new List<CloudEvent>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            events.Add(JsonSerializer.Deserialize<CloudEvent>(reader.GetString(0), PlatformJson.Options)!);
        }

        return type is null ? events : [.. events.Where(e => e.Type == CloudEvent.TypeName(type))];
    }

    /// <summary>Counts rows that say something changed: directives' states, reports, outbox events, heartbeats.</summary>
    public async Task<string> FingerprintAsync()
    {
        await using var command = DataSource.CreateCommand(
            "SELECT (SELECT string_agg(id || ':' || state, ',' ORDER BY id) FROM gateway.directives) || '|' || " +
            "(SELECT count(*) FROM gateway.reports) || '|' || (SELECT count(*) FROM gateway.outbox) || '|' || " +
            "coalesce((SELECT string_agg(account || ':' || coalesce(last_heartbeat::text, ''), ',') FROM gateway.accounts), '')");
        return (string)(await command.ExecuteScalarAsync())!;
    }

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<T>(PlatformJson.Options))!;

    public static JsonContent Json(object body) => JsonContent.Create(body, body.GetType(), options: PlatformJson.Options);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
