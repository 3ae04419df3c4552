using DistortSignals.Platform.Hosting;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Platform.Security;
using DistortSignals.Signals.Api;
using DistortSignals.Signals.Processing;
using DistortSignals.Signals.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DistortSignals.Signals;

/// <summary>
/// The signals role: runs the loaded TradingStrategy resources on the closed bars of the <c>bars</c> topic and
/// publishes their signals on <c>signals</c>; serves the signal history and the strategies' activity. Its
/// tables live in the <c>signals</c> schema. The strategies come from the <c>ResourceSet</c> the host registers.
/// </summary>
public sealed class SignalsModule : IModule
{
    public string Name => SignalStore.Schema;

    public void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<SignalsMetrics>();
        services.AddSingleton<SignalStore>();
        services.AddSingleton<StrategyEngines>();
        services.AddSingleton<BarProcessor>();
        services.AddSchemaMigrations(Name, SignalsMigrations.All);
        services.AddSingleton(new OutboxRegistration(Name));
        services.AddSingleton(provider => provider.GetRequiredService<BarProcessor>().Subscription);
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints) => SignalsEndpoints.Map(endpoints).RequireAuthorization(Scopes.Reader);
}
