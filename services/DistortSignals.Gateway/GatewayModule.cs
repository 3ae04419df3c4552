using DistortSignals.Gateway.Api;
using DistortSignals.Gateway.Paper;
using DistortSignals.Gateway.Processing;
using DistortSignals.Gateway.Storage;
using DistortSignals.Platform.Accounts;
using DistortSignals.Platform.Hosting;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Platform.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DistortSignals.Gateway;

/// <summary>
/// The gateway role: keeps the directives of <c>directive.created</c> in the <c>gateway</c> schema and runs their
/// state machine; serves the EA contract under <c>/ea/v1</c> (scope <c>ea:&lt;account&gt;</c>) with its OpenAPI
/// document, and <c>GET /api/v1/directives</c> for operations; cancels pending directives when risk halts an
/// account; expires what is due; registers the pushed EA keys; and runs the paper terminal for <c>broker: Paper</c>
/// accounts of the host's <c>ResourceSet</c>.
/// </summary>
public sealed class GatewayModule : IModule
{
    public string Name => DirectiveStore.Schema;

    public void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<GatewayOptions>()
            .Bind(configuration.GetSection(GatewayOptions.Section))
            .Validate(GatewayOptions.IsValid, $"The {GatewayOptions.Section} settings need PollSeconds in 1..60, positive counts and intervals, and a non-negative slippage.")
            .ValidateOnStart();
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<DirectiveStore>();
        services.AddSingleton<DirectiveLedger>();
        services.AddSingleton<GatewayEvents>();
        services.AddSingleton<PendingDirectivesFeed>();
        services.AddSchemaMigrations(Name, GatewayMigrations.All);
        services.AddSingleton(new OutboxRegistration(Name));
        foreach (var topic in new[] { Topics.Directives, Topics.Accounts, Topics.Bars })
        {
            services.AddSingleton(provider => provider.GetRequiredService<GatewayEvents>().Subscriptions.Single(s => s.Topic == topic));
        }

        services.AddSingleton<IAccountConfigurationSink, GatewayAccountSink>();
        services.AddHostedService(provider => provider.GetRequiredService<PendingDirectivesFeed>());
        services.AddHostedService<GatewaySweeper>();
        services.AddHostedService<PaperTerminal>();
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        EaEndpoints.Map(endpoints);
        EaOpenApi.Map(endpoints);
        DirectivesEndpoints.Map(endpoints).RequireAuthorization(Scopes.Reader);
    }
}
