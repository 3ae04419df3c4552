using System.Text.Json;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Market;
using DistortSignals.Core.Risk;
using DistortSignals.Gateway.Storage;
using DistortSignals.Platform.Messaging;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DistortSignals.Gateway.Processing;

/// <summary>
/// The gateway's subscriptions, each handled in the delivery's transaction: <c>directive.created</c> stores the
/// directive (idempotent on its id); <c>breaker.changed</c> and <c>account.state</c> record the account's newest
/// halt state (by Sequence) and cancel its pending directives when it is halted; <c>bar.closed</c> keeps each
/// symbol's latest close for the paper terminal. Other event types on those topics (the gateway's own
/// directive.updated and account.heartbeat among them) are acknowledged and ignored.
/// </summary>
internal sealed partial class GatewayEvents(DirectiveLedger ledger, ILogger<GatewayEvents> logger)
{
    public const string Consumer = "gateway";

    private static readonly string DirectiveCreated = CloudEvent.TypeName(Topics.Events.DirectiveCreated);
    private static readonly string BreakerChangedType = CloudEvent.TypeName(Topics.Events.BreakerChanged);
    private static readonly string AccountStateType = CloudEvent.TypeName(Topics.Events.AccountState);
    private static readonly string BarClosedType = CloudEvent.TypeName(Topics.Events.BarClosed);

    public IEnumerable<EventSubscription> Subscriptions =>
    [
        new(Consumer, DirectiveStore.Schema, Topics.Directives, HandleDirectiveAsync),
        new(Consumer, DirectiveStore.Schema, Topics.Accounts, HandleAccountAsync),
        // The paper terminal's prices wait behind the directives and halts of a burst.
        new(Consumer, DirectiveStore.Schema, Topics.Bars, HandleBarAsync, Background: true),
    ];

    public async Task<DeliveryOutcome> HandleDirectiveAsync(CloudEvent cloudEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        if (cloudEvent.Type != DirectiveCreated)
        {
            return DeliveryOutcome.Success;
        }

        var read = TryRead<TradeDirective>(cloudEvent, out var directive);
        if (!read || Problem(directive!) is not null)
        {
            LogDropped(logger, cloudEvent.Id, cloudEvent.Type, read ? Problem(directive!)! : "data is not a directive");
            return DeliveryOutcome.Drop;
        }

        await ledger.CreateAsync(transaction, directive!, cancellationToken);
        return DeliveryOutcome.Success;
    }

    public async Task<DeliveryOutcome> HandleAccountAsync(CloudEvent cloudEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        string account;
        bool applied;
        if (cloudEvent.Type == BreakerChangedType && TryRead<BreakerChanged>(cloudEvent, out var changed) && !string.IsNullOrEmpty(changed.Account))
        {
            account = changed.Account;
            applied = await DirectiveStore.ApplyHaltStateAsync(transaction, account, null, changed.State, changed.Sequence, cancellationToken);
        }
        else if (cloudEvent.Type == AccountStateType && TryRead<AccountStateSnapshot>(cloudEvent, out var state) && !string.IsNullOrEmpty(state.Account))
        {
            account = state.Account;
            applied = await DirectiveStore.ApplyHaltStateAsync(transaction, account, state.TradingEnabled, state.Breaker, state.Sequence, cancellationToken);
        }
        else if (cloudEvent.Type == BreakerChangedType || cloudEvent.Type == AccountStateType)
        {
            LogDropped(logger, cloudEvent.Id, cloudEvent.Type, "data is not readable");
            return DeliveryOutcome.Drop;
        }
        else
        {
            return DeliveryOutcome.Success;
        }

        if (applied)
        {
            await ledger.CancelIfHaltedAsync(transaction, account, cancellationToken);
        }

        return DeliveryOutcome.Success;
    }

    public async Task<DeliveryOutcome> HandleBarAsync(CloudEvent cloudEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        if (cloudEvent.Type != BarClosedType)
        {
            return DeliveryOutcome.Success;
        }

        if (!TryRead<Bar>(cloudEvent, out var bar) || MarketValidation.Validate(bar).Count > 0)
        {
            LogDropped(logger, cloudEvent.Id, cloudEvent.Type, "data is not a valid bar");
            return DeliveryOutcome.Drop;
        }

        await DirectiveStore.RecordPriceAsync(transaction, bar.Symbol, bar.Close, bar.OpenTime, cancellationToken);
        return DeliveryOutcome.Success;
    }

    /// <summary>What makes a directive unusable, or null.</summary>
    internal static string? Problem(TradeDirective directive) =>
        string.IsNullOrEmpty(directive.Id) || directive.Id.Length > TradeDirective.MaxIdLength ? $"id '{directive.Id}' is empty or longer than {TradeDirective.MaxIdLength}"
        : string.IsNullOrEmpty(directive.Account) ? "account is empty"
        : string.IsNullOrEmpty(directive.Symbol) ? "symbol is empty"
        : !double.IsFinite(directive.Volume) || directive.Volume <= 0 ? $"volume {directive.Volume} is not positive"
        : directive.ExpiresAt <= directive.CreatedAt ? "expiresAt is not after createdAt"
        : null;

    private static bool TryRead<T>(CloudEvent cloudEvent, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? value)
        where T : class
    {
        try
        {
            value = cloudEvent.ReadData<T>();
            return true;
        }
        catch (JsonException)
        {
            value = null;
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event {EventId} of type {Type} is dropped: {Reason}")]
    private static partial void LogDropped(ILogger logger, string eventId, string type, string reason);
}
