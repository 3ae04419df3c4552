using DistortSignals.Platform.Actors;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.State;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DistortSignals.Platform.Dapr;

public static class DaprServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Dapr platform, the counterpart of <c>AddInProcessPlatform</c>: the sidecar client (settings
    /// from the Dapr variables, then <paramref name="configure"/>), pub/sub, state and actors through the sidecar.
    /// Modules keep their outbox in their own PostgreSQL schema, written in the transaction of their state change
    /// (DESIGN.md section 2); the same relay as in-process publishes it, here through the sidecar, and marks the
    /// rows sent once the sidecar took them. Consumers record the events they handled in their schema, as in-process,
    /// and those records are pruned after a retention. Map the sidecar's endpoints with <see cref="DaprEndpoints.MapDaprPlatform"/>.
    /// </summary>
    public static IServiceCollection AddDaprPlatform(this IServiceCollection services, Action<DaprPlatformOptions>? configure = null)
    {
        var options = services.AddOptions<DaprPlatformOptions>().Configure(o => o.ReadEnvironment(Environment.GetEnvironmentVariable));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // The relay's and the pruner's timings come from the Dapr options; the delivery settings are not used here.
        services.AddOptions<InProcessPlatformOptions>().Configure<IOptions<DaprPlatformOptions>>((relay, dapr) =>
        {
            relay.PollInterval = dapr.Value.OutboxPollInterval;
            relay.OutboxBatchSize = dapr.Value.OutboxBatchSize;
            relay.OutboxRetention = dapr.Value.OutboxRetention;
            relay.HandledEventsRetention = dapr.Value.HandledEventsRetention;
        });

        services.TryAddSingleton<DaprMetrics>();
        services.TryAddSingleton<DaprClient>();
        services.TryAddSingleton<ISubscriptionRegistry, SubscriptionRegistry>();
        services.TryAddSingleton<IOutbox, PostgresOutbox>();
        services.TryAddSingleton<IEventPublisher, DaprEventPublisher>();
        services.TryAddSingleton<IStateStore, DaprStateStore>();
        services.TryAddSingleton<DaprDeliveries>();
        services.TryAddSingleton<DaprActorRuntime>();
        services.TryAddSingleton<IActorInvoker>(provider => provider.GetRequiredService<DaprActorRuntime>());
        services.TryAddSingleton<IActorReminders>(provider => provider.GetRequiredService<DaprActorRuntime>());
        services.AddSingleton<IHostedService, OutboxRelay>();
        services.AddSingleton<IHostedService, HandledEventsPruner>();
        return services;
    }
}
