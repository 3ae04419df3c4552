using DistortSignals.Platform.Actors;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Platform.State;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace DistortSignals.Platform.InProcess;

public static class InProcessServiceCollectionExtensions
{
    /// <summary>
    /// Registers the in-process platform over the host's <c>NpgsqlDataSource</c>: the <c>platform</c> schema's
    /// migrations (applied at start, before the loops below), the outbox that queues deliveries in the module's
    /// transaction and the relay for rows written unsent, the publisher and
    /// delivery dispatcher, the state store and the actor runtime. Modules register
    /// <see cref="OutboxRegistration"/>, <see cref="EventSubscription"/> and <see cref="ActorRegistration"/> in DI.
    /// </summary>
    public static IServiceCollection AddInProcessPlatform(this IServiceCollection services, Action<InProcessPlatformOptions>? configure = null)
    {
        var options = services.AddOptions<InProcessPlatformOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.AddSchemaMigrations(PlatformMigrations.Schema, PlatformMigrations.All);
        services.TryAddSingleton<ISubscriptionRegistry, SubscriptionRegistry>();
        services.TryAddSingleton<IOutbox, InProcessOutbox>();
        services.TryAddSingleton<IStateStore, PostgresStateStore>();
        services.TryAddSingleton<InProcessMetrics>();
        services.TryAddSingleton<DeliveryDispatcher>();
        services.TryAddSingleton<IEventPublisher, InProcessPublisher>();
        services.TryAddSingleton<InProcessActorRuntime>();
        services.TryAddSingleton<IActorInvoker>(provider => provider.GetRequiredService<InProcessActorRuntime>());
        services.TryAddSingleton<IActorReminders>(provider => provider.GetRequiredService<InProcessActorRuntime>());
        services.AddSingleton<IHostedService>(provider => provider.GetRequiredService<DeliveryDispatcher>());
        services.AddSingleton<IHostedService, OutboxRelay>();
        services.AddSingleton<IHostedService, HandledEventsPruner>();
        services.AddSingleton<IHostedService>(provider => provider.GetRequiredService<InProcessActorRuntime>());
        return services;
    }
}
