using System.Text;
using System.Text.Json.Nodes;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Risk;
using DistortSignals.Operator.Entities;
using DistortSignals.Operator.Kube;
using DistortSignals.Operator.Reconcile;
using DistortSignals.Operator.Roles;
using DistortSignals.Platform.Resources;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Operator.Controllers;

/// <summary>
/// BrokerAccount (DESIGN.md section 3): checks the credentials Secret, pushes the spec and the EA key's
/// SHA-256 to the risk and gateway roles, reads the breaker and account back into status, forwards a new
/// breakerResetToken once, and holds a finalizer that switches trading off before the resource goes (the
/// gateway then cancels the account's pending directives).
/// </summary>
public sealed class BrokerAccountController(KubeClient client, IRoleClient roles, EventRecorder events, OperatorOptions options, ILogger logger) : IController
{
    public const string Finalizer = "trading.distortsignals.io/brokeraccount-finalizer";

    public ResourceKind Kind => ResourceKind.BrokerAccounts;

    public ResourceKind? Owns => null;

    public async Task<TimeSpan?> ReconcileAsync(JsonObject resource, CancellationToken cancellationToken)
    {
        // The finalizer goes on before any side effect, so nothing we push can outlive the resource.
        resource = await AddFinalizerAsync(resource, cancellationToken);
        var ns = Resources.Namespace(resource);
        var name = Resources.Name(resource);
        var generation = Resources.Generation(resource);
        var old = StatusJson.Read<BrokerAccountStatus>(resource);
        var now = DateTimeOffset.UtcNow;

        var spec = ResourceJson.Read<BrokerAccountSpec>(resource["spec"], "spec", out var problem);
        var invalid = problem ?? (spec is null ? null : string.Join("; ", BrokerAccountValidator.Validate(spec).Select(e => $"{e.Field}: {e.Message}")));
        if (spec is null || invalid is { Length: > 0 })
        {
            var failed = old is null ? new BrokerAccountStatus() : old with { };
            failed = failed with
            {
                ObservedGeneration = generation,
                Conditions = Conditions.Set(old?.Conditions, [
                    ("Ready", false, "ConfigInvalid", "the spec is invalid; the roles keep the last valid configuration"),
                    ("ConfigValid", false, "InvalidSpec", invalid!)], generation, now),
            };
            if (await Resources.WriteStatusAsync(client, Kind, resource, old, failed, cancellationToken) && Conditions.Find(old?.Conditions, "ConfigValid")?.Message != invalid)
            {
                await events.RecordAsync(resource, "Warning", "InvalidSpec", "Validate", invalid!, cancellationToken);
            }

            return null;
        }

        var (keyHash, credentials) = await CredentialsAsync(ns, spec.CredentialsSecretRef, cancellationToken);
        AccountStateSnapshot? snapshot = null;
        string? rolesProblem = null;
        var lastResetToken = old?.CircuitBreaker?.LastResetToken;
        try
        {
            if (keyHash is not null)
            {
                await roles.PushAccountConfigAsync(options.RiskAppId, name, spec, keyHash, cancellationToken);
                await roles.PushAccountConfigAsync(options.GatewayAppId, name, spec, keyHash, cancellationToken);
            }

            snapshot = await roles.GetAccountAsync(options.RiskAppId, name, cancellationToken);
            if (spec.BreakerResetToken is { Length: > 0 } token && token != lastResetToken)
            {
                if (snapshot?.LastResetToken != token)
                {
                    logger.LogInformation("forwarding breaker reset token of {Namespace}/{Name}", ns, name);
                    await roles.ResetBreakerAsync(options.RiskAppId, name, token, $"spec.breakerResetToken changed on BrokerAccount {ns}/{name}", cancellationToken);
                    await events.RecordAsync(resource, "Normal", "BreakerResetRequested", "ResetBreaker", $"forwarded breakerResetToken '{token}' to the risk role", cancellationToken);
                    snapshot = await roles.GetAccountAsync(options.RiskAppId, name, cancellationToken);
                }

                lastResetToken = token;
            }
        }
        catch (RoleCallException e)
        {
            rolesProblem = e.Message;
        }

        var status = Status(old, spec, generation, now, credentials, snapshot, rolesProblem, lastResetToken);
        if (await Resources.WriteStatusAsync(client, Kind, resource, old, status, cancellationToken))
        {
            await RecordBreakerChangeAsync(resource, old?.CircuitBreaker, status.CircuitBreaker, cancellationToken);
        }

        // Unreachable roles are retried sooner than the resync, with the queue's backoff.
        return rolesProblem is null ? null : options.ErrorBackoff;
    }

    /// <summary>Switches trading off in the risk role, then removes our finalizer (a guarded JSON patch that is not cancelled halfway).</summary>
    public async Task FinalizeAsync(JsonObject resource, CancellationToken cancellationToken)
    {
        var finalizers = Finalizers(resource);
        var index = finalizers.IndexOf(Finalizer);
        if (index < 0)
        {
            return;
        }

        var name = Resources.Name(resource);
        await roles.SetTradingAsync(options.RiskAppId, name, false, cancellationToken);
        using var removal = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await client.JsonPatchAsync(Kind, Resources.Namespace(resource), name, new JsonArray(
            new JsonObject { ["op"] = "test", ["path"] = $"/metadata/finalizers/{index}", ["value"] = Finalizer },
            new JsonObject { ["op"] = "remove", ["path"] = $"/metadata/finalizers/{index}" }), removal.Token);
        logger.LogInformation("trading disabled and finalizer removed for {Namespace}/{Name}", Resources.Namespace(resource), name);
    }

    private async Task<JsonObject> AddFinalizerAsync(JsonObject resource, CancellationToken cancellationToken)
    {
        var finalizers = Finalizers(resource);
        if (finalizers.Contains(Finalizer))
        {
            return resource;
        }

        // The test op makes the patch fail (and the reconcile retry) if someone changed the list meanwhile.
        var operations = resource["metadata"]?["finalizers"] is JsonArray current
            ? new JsonArray(
                new JsonObject { ["op"] = "test", ["path"] = "/metadata/finalizers", ["value"] = current.DeepClone() },
                new JsonObject { ["op"] = "add", ["path"] = "/metadata/finalizers/-", ["value"] = Finalizer })
            : new JsonArray(
                new JsonObject { ["op"] = "test", ["path"] = "/metadata/resourceVersion", ["value"] = resource["metadata"]!["resourceVersion"]!.DeepClone() },
                new JsonObject { ["op"] = "add", ["path"] = "/metadata/finalizers", ["value"] = new JsonArray(Finalizer) });
        return await client.JsonPatchAsync(Kind, Resources.Namespace(resource), Resources.Name(resource), operations, cancellationToken);
    }

    private static List<string> Finalizers(JsonObject resource) =>
        [.. (resource["metadata"]?["finalizers"] as JsonArray ?? []).Select(f => f?.GetValue<string>() ?? "")];

    /// <summary>The SHA-256 hex of the EA key, or null with the reason the Secret does not provide one.</summary>
    private async Task<(string? Hash, (bool Valid, string Reason, string Message) Condition)> CredentialsAsync(string ns, SecretKeyReference reference, CancellationToken cancellationToken)
    {
        var secret = await client.GetAsync(ResourceKind.Secrets, ns, reference.Name, cancellationToken);
        if (secret is null)
        {
            return (null, (false, "SecretNotFound", $"spec.credentialsSecretRef.name: Secret '{reference.Name}' does not exist in namespace {ns}"));
        }

        var encoded = secret["data"]?[reference.Key]?.GetValue<string>();
        if (encoded is null)
        {
            return (null, (false, "KeyNotFound", $"spec.credentialsSecretRef.key: Secret '{reference.Name}' has no key '{reference.Key}'"));
        }

        string key;
        try
        {
            key = Encoding.UTF8.GetString(Convert.FromBase64String(encoded)).Trim();
        }
        catch (FormatException)
        {
            return (null, (false, "KeyInvalid", $"spec.credentialsSecretRef.key: the value of '{reference.Key}' in Secret '{reference.Name}' is not base64"));
        }

        return key.Length == 0
            ? (null, (false, "KeyEmpty", $"spec.credentialsSecretRef.key: '{reference.Key}' in Secret '{reference.Name}' is empty"))
            : (StatusJson.Sha256(key), (true, "SecretFound", $"Secret '{reference.Name}' key '{reference.Key}'"));
    }

    private static BrokerAccountStatus Status(
        BrokerAccountStatus? old, BrokerAccountSpec spec, long generation, DateTimeOffset now, (bool Valid, string Reason, string Message) credentials,
        AccountStateSnapshot? snapshot, string? rolesProblem, string? lastResetToken)
    {
        var breaker = snapshot is null
            ? old?.CircuitBreaker is { } kept ? kept with { LastResetToken = lastResetToken } : null
            : new CircuitBreakerStatus
            {
                State = snapshot.Breaker,
                Reason = snapshot.BreakerReason,
                Message = snapshot.BreakerMessage,
                Since = snapshot.BreakerSince,
                Until = snapshot.BreakerUntil,
                DailyPnlPct = snapshot.DailyPnlPct,
                WeeklyPnlPct = snapshot.WeeklyPnlPct,
                DrawdownPct = snapshot.DrawdownPct,
                ConsecutiveLosses = snapshot.ConsecutiveLosses,
                LastResetToken = lastResetToken,
            };
        var account = snapshot is null ? old?.Account : new AccountSummary
        {
            Equity = snapshot.Equity,
            Balance = snapshot.Balance,
            OpenPositions = snapshot.OpenPositions,
            LastHeartbeat = snapshot.LastHeartbeat,
            Connected = snapshot.Connected,
        };
        var closed = breaker is null || breaker.State == BreakerState.Closed;
        var connected = account?.Connected ?? false;
        var phase = !spec.TradingEnabled ? AccountPhase.Disabled
            : !closed ? AccountPhase.Halted
            : !connected ? AccountPhase.Disconnected
            : AccountPhase.Active;
        var ready = credentials.Valid && rolesProblem is null && snapshot is not null;
        return new BrokerAccountStatus
        {
            Phase = phase,
            ObservedGeneration = generation,
            Conditions = Conditions.Set(old?.Conditions, [
                ready
                    ? ("Ready", true, "Configured", "the risk and gateway roles have the account's configuration")
                    : !credentials.Valid ? ("Ready", false, "CredentialsInvalid", credentials.Message)
                    : rolesProblem is not null ? ("Ready", false, "RolesUnavailable", rolesProblem)
                    : ("Ready", false, "AccountUnknown", "the risk role does not know the account yet"),
                ("ConfigValid", true, "Valid", ""),
                ("CredentialsValid", credentials.Valid, credentials.Reason, credentials.Message),
                closed
                    ? ("BreakerClosed", true, breaker is null ? "Unknown" : "Closed", "")
                    : ("BreakerClosed", false, breaker!.Reason?.ToString() ?? "Open", breaker.Message ?? $"breaker {breaker.State}"),
                connected
                    ? ("EaConnected", true, "Heartbeat", account!.LastHeartbeat is { } beat ? $"last heartbeat {beat.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}" : "")
                    : ("EaConnected", false, "NoHeartbeat", "the terminal has not sent a recent heartbeat"),
            ], generation, now),
            CircuitBreaker = breaker,
            Account = account,
        };
    }

    private async Task RecordBreakerChangeAsync(JsonObject resource, CircuitBreakerStatus? before, CircuitBreakerStatus? after, CancellationToken cancellationToken)
    {
        if (after is null || before?.State == after.State)
        {
            return;
        }

        if (after.State == BreakerState.Open)
        {
            await events.RecordAsync(resource, "Warning", "BreakerOpened", "Trip", $"{after.Reason} breaker opened: {after.Message}", cancellationToken);
        }
        else if (before?.State is BreakerState.Open or BreakerState.HalfOpen)
        {
            await events.RecordAsync(resource, "Normal", after.State == BreakerState.Closed ? "BreakerClosed" : "BreakerHalfOpen", "Reset", $"breaker {after.State}", cancellationToken);
        }
    }
}
