using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace DistortSignals.Platform.Postgres.Migrations;

/// <summary>
/// Applies every registered <see cref="SchemaMigrations"/> when the host starts, before the background
/// services that use those tables (it is registered ahead of them and hosted services start in order).
/// </summary>
public sealed class SchemaMigrator(NpgsqlDataSource dataSource, IEnumerable<SchemaMigrations> schemas) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var schema in schemas)
        {
            await MigrationRunner.RunAsync(dataSource, schema.Schema, schema.Migrations, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class SchemaMigrationsServiceCollectionExtensions
{
    /// <summary>Registers a schema's migrations to be applied at start-up.</summary>
    public static IServiceCollection AddSchemaMigrations(this IServiceCollection services, string schema, IReadOnlyList<Migration> migrations)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SchemaMigrator>());
        services.AddSingleton(new SchemaMigrations(PostgresIdentifier.Require(schema, nameof(schema)), migrations));
        return services;
    }
}
