using DistortSignals.Platform.Accounts;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.Hosting;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Risk.Accounts;
using DistortSignals.Risk.Api;
using DistortSignals.Risk.Processing;
using DistortSignals.Risk.Storage;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace DistortSignals.Risk;

/// <summary>
/// The risk role: each BrokerAccount is an actor that runs the check chain on the signals of the strategies that
/// name it, books fills, prices and heartbeats, keeps the circuit breakers and publishes risk.decided,
/// directive.created, breaker.changed and account.state through the outbox of the <c>risk</c> schema. Serves the
/// account state, the decisions, the breaker reset and the kill switch.
/// </summary>
public sealed class RiskModule : IModule
{
    /// <summary>The Dapr actor type of an account, which the deployment's Resiliency policy names.</summary>
    public const string AccountActorType = AccountActor.ActorType;

    public string Name => RiskStore.Schema;

    public void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<RiskMetrics>();
        services.AddSingleton<RiskStore>();
        services.AddSingleton<RiskEvents>();
        services.AddSchemaMigrations(Name, RiskMigrations.All);
        services.AddSingleton(new OutboxRegistration(Name));
        services.AddSingleton(new ActorRegistration(AccountActor.ActorType, (host, provider) => new AccountActor(
            host,
            provider.GetRequiredService<NpgsqlDataSource>(),
            provider.GetRequiredService<IOutbox>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<RiskMetrics>())));
        services.AddSingleton<IAccountConfigurationSink, RiskAccountSink>();
        foreach (var topic in new[] { Topics.Signals, Topics.Executions, Topics.Directives, Topics.Accounts, Topics.Bars })
        {
            services.AddSingleton(provider => provider.GetRequiredService<RiskEvents>().Subscriptions.Single(s => s.Topic == topic));
        }
    }

    public void MapEndpoints(IEndpointRouteBuilder endpoints) => RiskEndpoints.Map(endpoints);
}
