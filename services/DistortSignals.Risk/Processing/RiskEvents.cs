using System.Text.Json;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.Messaging;
using DistortSignals.Risk.Accounts;
using DistortSignals.Risk.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DistortSignals.Risk.Processing;

/// <summary>
/// The risk role's subscriptions: signal.generated (to each configured account the strategy names),
/// execution.reported, directive.updated and account.heartbeat (to the account's actor), bar.closed (to the
/// actors of the accounts holding the symbol, to mark positions). Events of other types on these topics (the
/// role's own directive.created, breaker.changed and account.state among them) are acknowledged and ignored.
/// </summary>
internal sealed partial class RiskEvents(IActorInvoker actors, ILogger<RiskEvents> logger)
{
    public const string Consumer = "risk";

    private static readonly string SignalGenerated = CloudEvent.TypeName(Topics.Events.SignalGenerated);
    private static readonly string ExecutionReported = CloudEvent.TypeName(Topics.Events.ExecutionReported);
    private static readonly string DirectiveUpdated = CloudEvent.TypeName(Topics.Events.DirectiveUpdated);
    private static readonly string AccountHeartbeat = CloudEvent.TypeName(Topics.Events.AccountHeartbeat);
    private static readonly string BarClosed = CloudEvent.TypeName(Topics.Events.BarClosed);

    public IEnumerable<EventSubscription> Subscriptions =>
    [
        new(Consumer, RiskStore.Schema, Topics.Signals, HandleAsync),
        new(Consumer, RiskStore.Schema, Topics.Executions, HandleAsync),
        new(Consumer, RiskStore.Schema, Topics.Directives, HandleAsync),
        new(Consumer, RiskStore.Schema, Topics.Accounts, HandleAsync),
        // Marking positions to a close waits behind the signals, decisions and fills of a burst.
        new(Consumer, RiskStore.Schema, Topics.Bars, HandleAsync, Background: true),
    ];

    public async Task<DeliveryOutcome> HandleAsync(CloudEvent cloudEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        try
        {
            if (cloudEvent.Type == SignalGenerated)
            {
                var signal = cloudEvent.ReadData<Signal>();
                var named = cloudEvent.Data.TryGetProperty("accounts", out var list) && list.ValueKind == JsonValueKind.Array
                    ? list.Deserialize<List<string>>(PlatformJson.Options) ?? []
                    : [];
                foreach (var account in await RiskStore.ConfiguredAsync(transaction, named, cancellationToken))
                {
                    await InvokeAsync(account, AccountActor.Signal, new SignalInput(cloudEvent.Id, signal), cancellationToken);
                }
            }
            else if (cloudEvent.Type == ExecutionReported)
            {
                var report = cloudEvent.ReadData<ExecutionReported>();
                await ToAccountAsync(transaction, report.Directive.Account, AccountActor.Execution, new ExecutionInput(cloudEvent.Id, report), cancellationToken);
            }
            else if (cloudEvent.Type == DirectiveUpdated)
            {
                var update = cloudEvent.ReadData<DirectiveUpdate>();
                await ToAccountAsync(transaction, update.Account, AccountActor.DirectiveUpdated, new DirectiveUpdateInput(cloudEvent.Id, update), cancellationToken);
            }
            else if (cloudEvent.Type == AccountHeartbeat)
            {
                var heartbeat = cloudEvent.ReadData<AccountHeartbeat>();
                await ToAccountAsync(transaction, heartbeat.Account, AccountActor.Heartbeat, new HeartbeatInput(cloudEvent.Id, heartbeat), cancellationToken);
            }
            else if (cloudEvent.Type == BarClosed)
            {
                var bar = cloudEvent.ReadData<Bar>();
                foreach (var account in await RiskStore.HoldingAsync(transaction, bar.Symbol, cancellationToken))
                {
                    await InvokeAsync(account, AccountActor.Price, new PriceInput(cloudEvent.Id, bar.Symbol, bar.Close, bar.CloseTime), cancellationToken);
                }
            }

            return DeliveryOutcome.Success;
        }
        catch (JsonException error)
        {
            LogDropped(logger, cloudEvent.Id, cloudEvent.Type, error.Message);
            return DeliveryOutcome.Drop;
        }
    }

    private async Task ToAccountAsync<T>(NpgsqlTransaction transaction, string account, string method, T input, CancellationToken cancellationToken)
    {
        if ((await RiskStore.ConfiguredAsync(transaction, [account], cancellationToken)).Count == 1)
        {
            await InvokeAsync(account, method, input, cancellationToken);
        }
    }

    private Task InvokeAsync<T>(string account, string method, T input, CancellationToken cancellationToken) =>
        actors.InvokeMethodAsync(AccountActor.ActorType, account, method, JsonSerializer.SerializeToElement(input, PlatformJson.Options), cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "event {EventId} of type {Type} is dropped: {Reason}")]
    private static partial void LogDropped(ILogger logger, string eventId, string type, string reason);
}
