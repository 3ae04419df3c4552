using DistortSignals.Core.Accounts;

namespace DistortSignals.Platform.Accounts;

/// <summary>
/// A BrokerAccount's spec with the SHA-256 (lowercase hex) of its EA key, as the operator pushes it to the risk
/// and gateway roles and as the one-process host pushes the accounts it loads. The key itself never travels.
/// </summary>
public sealed record AccountConfiguration(string Account, BrokerAccountSpec Spec, string? EaKeySha256);

/// <summary>
/// A module that needs account configuration (risk: limits and sizing; gateway: the EA key and TTLs).
/// Applying the same configuration twice changes nothing.
/// </summary>
public interface IAccountConfigurationSink
{
    Task ApplyAsync(AccountConfiguration configuration, CancellationToken cancellationToken);
}
