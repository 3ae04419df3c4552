using DistortSignals.Ingest.Api;
using DistortSignals.Ingest.Feed;
using DistortSignals.Ingest.Processing;
using DistortSignals.Ingest.Storage;
using DistortSignals.Platform.Hosting;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DistortSignals.Ingest;

/// <summary>
/// The ingest role: the tick and bar API, bar building with a watermark, bar history, the synthetic
/// feed. Its tables live in the <c>ingest</c> schema.
/// </summary>
public sealed class IngestModule : IModule
{
    public string Name => MarketDataIngestor.Schema;

    public void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(provider =>
        {
            var configured = configuration.GetSection("Ingest").Get<IngestOptions>() ?? new IngestOptions();
            // Without a configured list, the platform takes data for the symbols its strategies trade.
            return configured.Symbols.Count > 0 ? configured : configured with { Symbols = provider.GetRequiredService<ResourceSet>().Symbols };
        });
        services.AddSingleton(configuration.GetSection("Feed").Get<SyntheticFeedOptions>() ?? new SyntheticFeedOptions());
        services.AddSingleton<IngestMetrics>();
        services.AddSingleton<MarketDataIngestor>();
        services.AddSchemaMigrations(Name, IngestMigrations.All);
        services.AddSingleton(new OutboxRegistration(Name));
        services.AddHostedService<WatermarkService>();
        if (!string.Equals(configuration["Feed:Mode"] ?? "synthetic", "none", StringComparison.OrdinalIgnoreCase))
        {
            services.AddHostedService<SyntheticFeed>();
        }
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        var (write, read) = IngestEndpoints.Map(endpoints);
        write.RequireAuthorization(Scopes.Ingest);
        read.RequireAuthorization(Scopes.Reader);
    }
}
