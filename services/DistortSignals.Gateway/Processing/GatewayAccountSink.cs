using DistortSignals.Gateway.Storage;
using DistortSignals.Platform.Accounts;
using DistortSignals.Platform.Security;
using Npgsql;

namespace DistortSignals.Gateway.Processing;

/// <summary>
/// The gateway's part of an account configuration: the EA key's hash becomes the account's only
/// <c>ea:&lt;account&gt;</c> key, and the spec's kill switch is what the gateway answers until risk's first
/// account.state (turning it off cancels the pending directives). Applying the same configuration again changes nothing.
/// </summary>
internal sealed class GatewayAccountSink(NpgsqlDataSource database, ApiKeyStore keys, DirectiveLedger ledger) : IAccountConfigurationSink
{
    public async Task ApplyAsync(AccountConfiguration configuration, CancellationToken cancellationToken)
    {
        if (configuration.EaKeySha256 is { } hash)
        {
            await keys.ImportEaKeyHashAsync(configuration.Account, hash, cancellationToken);
        }

        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await DirectiveStore.ApplySpecAsync(transaction, configuration.Account, configuration.Spec.TradingEnabled, cancellationToken))
        {
            await ledger.CancelIfHaltedAsync(transaction, configuration.Account, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }
}
