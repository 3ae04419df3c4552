using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DistortSignals.Platform.Hosting;

/// <summary>
/// A role of the platform (ingest, signals, risk, gateway, hub). The host composes the modules of the
/// roles it runs: it calls <see cref="ConfigureServices"/> on each, builds the app, then
/// <see cref="MapEndpoints"/>. A module registers its subscriptions, actors, migrations and background
/// services itself and never knows which platform (in-process or Dapr) it runs on.
/// </summary>
public interface IModule
{
    /// <summary>The role name, also the module's PostgreSQL schema: ingest, signals, risk, gateway or hub.</summary>
    string Name { get; }

    void ConfigureServices(IServiceCollection services, IConfiguration configuration);

    void MapEndpoints(IEndpointRouteBuilder endpoints);
}
