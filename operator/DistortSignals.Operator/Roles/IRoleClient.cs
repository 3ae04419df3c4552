using DistortSignals.Core.Accounts;
using DistortSignals.Core.Risk;

namespace DistortSignals.Operator.Roles;

/// <summary>A strategy's activity as the signals role reports it (GET /api/v1/strategies).</summary>
public sealed record StrategyActivity(DateTimeOffset? LastSignal, long SignalsToday);

/// <summary>
/// The operator's calls to the platform roles (the account endpoints of the risk and gateway roles, the
/// strategies endpoint of the signals role). In a cluster they go through Dapr service invocation.
/// </summary>
public interface IRoleClient
{
    /// <summary>PUT /api/v1/accounts/{account}/config: idempotent, so it is sent on every reconcile.</summary>
    Task PushAccountConfigAsync(string appId, string account, BrokerAccountSpec spec, string eaKeySha256, CancellationToken cancellationToken);

    /// <summary>GET /api/v1/accounts/{account}; null when the role does not know the account yet.</summary>
    Task<AccountStateSnapshot?> GetAccountAsync(string appId, string account, CancellationToken cancellationToken);

    /// <summary>POST /api/v1/accounts/{account}/breaker/reset {token, reason}: idempotent per token.</summary>
    Task ResetBreakerAsync(string appId, string account, string token, string reason, CancellationToken cancellationToken);

    /// <summary>POST /api/v1/accounts/{account}/trading {enabled}.</summary>
    Task SetTradingAsync(string appId, string account, bool enabled, CancellationToken cancellationToken);

    /// <summary>The strategy's entry in GET /api/v1/strategies; null when it is not loaded.</summary>
    Task<StrategyActivity?> GetStrategyAsync(string appId, string strategy, CancellationToken cancellationToken);
}

/// <summary>A role answered with an error or could not be reached.</summary>
public sealed class RoleCallException(string message, Exception? inner = null) : Exception(message, inner);
