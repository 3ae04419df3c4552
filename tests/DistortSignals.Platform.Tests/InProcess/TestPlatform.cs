using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace DistortSignals.Platform.Tests.InProcess;

/// <summary>
/// The in-process platform over a test database, with its hosted services started like a host would,
/// and timings shortened so the loops react in milliseconds.
/// </summary>
internal sealed class TestPlatform : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly List<IHostedService> _started = [];

    private TestPlatform(string connectionString, ServiceProvider provider)
    {
        ConnectionString = connectionString;
        _provider = provider;
    }

    public string ConnectionString { get; }

    public IServiceProvider Services => _provider;

    public NpgsqlDataSource DataSource => _provider.GetRequiredService<NpgsqlDataSource>();

    public T Get<T>()
        where T : notnull => _provider.GetRequiredService<T>();

    /// <summary>Builds the platform on <paramref name="connectionString"/> (a new database when null) and starts its hosted services unless told not to.</summary>
    public static async Task<TestPlatform> StartAsync(
        Action<IServiceCollection> configure,
        Action<InProcessPlatformOptions>? options = null,
        string? connectionString = null,
        bool start = true)
    {
        connectionString ??= await TestPostgres.CreateDatabaseAsync();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddInProcessPlatform(o =>
        {
            FastPlatform.Timings(o);
            options?.Invoke(o);
        });
        configure(services);
        var platform = new TestPlatform(connectionString, services.BuildServiceProvider());
        if (start)
        {
            await platform.StartHostedServicesAsync();
        }
        else
        {
            // Not running the loops, but the tables must exist.
            await platform.Get<IEnumerable<IHostedService>>().OfType<SchemaMigrator>().Single().StartAsync(CancellationToken.None);
        }

        return platform;
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in Enumerable.Reverse(_started))
        {
            await service.StopAsync(CancellationToken.None);
        }

        await _provider.DisposeAsync();
    }

    private async Task StartHostedServicesAsync()
    {
        foreach (var service in Get<IEnumerable<IHostedService>>())
        {
            await service.StartAsync(CancellationToken.None);
            _started.Add(service);
        }
    }
}
