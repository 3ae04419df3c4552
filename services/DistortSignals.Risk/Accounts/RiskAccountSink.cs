using System.Text.Json;
using DistortSignals.Platform;
using DistortSignals.Platform.Accounts;
using DistortSignals.Platform.Actors;
using DistortSignals.Risk.Storage;

namespace DistortSignals.Risk.Accounts;

/// <summary>Takes an account's configuration: stores the spec (so the account is known to the endpoints and subscriptions) and hands it to the account's actor, which keeps the latest. Idempotent.</summary>
internal sealed class RiskAccountSink(RiskStore store, IActorInvoker actors) : IAccountConfigurationSink
{
    public async Task ApplyAsync(AccountConfiguration configuration, CancellationToken cancellationToken)
    {
        await store.UpsertSpecAsync(configuration.Account, configuration.Spec, cancellationToken);
        await actors.InvokeMethodAsync(AccountActor.ActorType, configuration.Account, AccountActor.Configure,
            JsonSerializer.SerializeToElement(new ConfigureInput(configuration.Spec), PlatformJson.Options), cancellationToken);
    }
}
