using System.Text.Json;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DistortSignals.Signals.Tests;

/// <summary>
/// The signals module as the host composes it: the in-process platform over a real test database, the
/// security layer and the module's endpoints on TestServer, with the platform's loops shortened to
/// milliseconds. Unless started, only the migrations run, and bars are handed to the subscription the way
/// the dispatcher does (<see cref="DeliverAsync"/>); started, the dispatcher delivers what is published.
/// </summary>
internal sealed class SignalsTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _started;

    private SignalsTestHost(WebApplication app, string connectionString, bool started)
    {
        _app = app;
        ConnectionString = connectionString;
        _started = started;
    }

    public string ConnectionString { get; }

    public NpgsqlDataSource DataSource => Get<NpgsqlDataSource>();

    public EventSubscription Subscription => Get<IEnumerable<EventSubscription>>().Single(s => s.Topic == Topics.Bars);

    public HttpClient Client => _app.GetTestClient();

    public T Get<T>()
        where T : notnull => _app.Services.GetRequiredService<T>();

    /// <param name="connectionString">An existing database (for a restart); a new one when null.</param>
    /// <param name="start">Start the hosted services (dispatcher, relay, TestServer); otherwise only apply the migrations.</param>
    /// <param name="outbox">The outbox the module writes through; the platform's when null.</param>
    /// <param name="clock">The clock of the endpoints and the security layer; the system's when null.</param>
    public static async Task<SignalsTestHost> StartAsync(
        ResourceSet resources, string? connectionString = null, bool start = false, IOutbox? outbox = null, TimeProvider? clock = null)
    {
        connectionString ??= await TestPostgres.CreateDatabaseAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        var services = builder.Services;
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddSingleton(resources);
        if (outbox is not null)
        {
            services.AddSingleton(outbox);
        }

        if (clock is not null)
        {
            services.AddSingleton(clock);
        }

        services.AddInProcessPlatform(FastPlatform.Timings);
        services.AddPlatformSecurity(builder.Configuration);
        var module = new SignalsModule();
        module.ConfigureServices(services, builder.Configuration);

        var app = builder.Build();
        app.UsePlatformSecurity();
        module.MapEndpoints(app);
        if (start)
        {
            await app.StartAsync();
        }
        else
        {
            await app.Services.GetServices<IHostedService>().OfType<SchemaMigrator>().Single().StartAsync(CancellationToken.None);
        }

        return new SignalsTestHost(app, connectionString, start);
    }

    /// <summary>A strategy set with one strategy.</summary>
    public static ResourceSet Resources(params TradingStrategyResource[] strategies) =>
        new(strategies, [], new Dictionary<string, SecretResource>());

    /// <summary>The bar.closed event ingest publishes for <paramref name="bar"/>.</summary>
    public static CloudEvent BarClosed(Bar bar) => CloudEvent.Create(
        $"bar-{bar.Symbol}-{bar.Timeframe}-{bar.OpenTime.UtcDateTime:yyyyMMddTHHmm}", "ingest", Topics.Events.BarClosed, bar.Symbol, bar.CloseTime, bar);

    /// <summary>
    /// Handles one event as the dispatcher does: in a transaction that commits on Success and rolls back
    /// otherwise, or when the handler throws (the transaction is disposed uncommitted).
    /// </summary>
    public async Task<DeliveryOutcome> DeliverAsync(CloudEvent cloudEvent)
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var outcome = await DeliveryDispatcher.HandleOnceAsync(transaction, Subscription, cloudEvent, CancellationToken.None);
        if (outcome == DeliveryOutcome.Success)
        {
            await transaction.CommitAsync();
        }
        else
        {
            await transaction.RollbackAsync();
        }

        return outcome;
    }

    /// <summary>
    /// Hands a run of events to the subscription's run handler as the dispatcher's first pass does: in one transaction
    /// that commits on Success and rolls back otherwise, or when the handler throws.
    /// </summary>
    public async Task<DeliveryOutcome> DeliverRunAsync(IReadOnlyList<CloudEvent> cloudEvents)
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var outcome = await Subscription.RunHandler!(cloudEvents, transaction, CancellationToken.None);
        if (outcome == DeliveryOutcome.Success)
        {
            await transaction.CommitAsync();
        }
        else
        {
            await transaction.RollbackAsync();
        }

        return outcome;
    }

    public async Task DeliverAllAsync(IEnumerable<Bar> bars)
    {
        foreach (var bar in bars)
        {
            Assert.Equal(DeliveryOutcome.Success, await DeliverAsync(BarClosed(bar)));
        }
    }

    /// <summary>The stored signals, oldest bar first, read back from their payloads.</summary>
    public async Task<List<Signal>> StoredSignalsAsync()
    {
        await using var command = DataSource.CreateCommand("SELECT payload::text FROM signals.signals ORDER BY bar_time, strategy");
        var signals = new List<Signal>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            signals.Add(JsonSerializer.Deserialize<Signal>(reader.GetString(0), PlatformJson.Options)!);
        }

        return signals;
    }

    /// <summary>The events in <c>signals.outbox</c>, in the order they were added.</summary>
    public async Task<List<CloudEvent>> OutboxAsync()
    {
        await using var command = DataSource.CreateCommand("SELECT payload::text FROM signals.outbox ORDER BY seq");
        var events = new List<CloudEvent>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            events.Add(JsonSerializer.Deserialize<CloudEvent>(reader.GetString(0), PlatformJson.Options)!);
        }

        return events;
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public async ValueTask DisposeAsync()
    {
        if (_started)
        {
            await _app.StopAsync();
        }

        await _app.DisposeAsync();
    }
}
