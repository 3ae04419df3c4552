using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Risk;
using DistortSignals.Core.Strategies;
using DistortSignals.Platform;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.Messaging;
using DistortSignals.Risk.Processing;
using DistortSignals.Risk.Storage;
using Npgsql;

namespace DistortSignals.Risk.Accounts;

/// <summary>
/// One BrokerAccount as a virtual actor: every decision, fill, price, heartbeat and operation of the account runs
/// here one at a time, over its <see cref="AccountActorState"/> kept through the state manager. A turn writes its
/// events (risk.decided, directive.created, breaker.changed, account.state), the decision, the audit row and the
/// account's snapshot in one transaction of the risk schema; the runtime saves the actor state after the turn.
/// Every event id is deterministic (from the signal, or from the account and its sequence), so a turn replayed
/// after a crash between the two commits writes the same ids and the outbox keeps the first; events already
/// taken are recognised by their id and change nothing. Reminders bring the account to the day and week resets
/// and to the end of a breaker's time.
/// </summary>
internal sealed class AccountActor(ActorHost host, NpgsqlDataSource database, IOutbox outbox, TimeProvider clock, RiskMetrics metrics) : Actor(host)
{
    public const string ActorType = "RiskAccount";

    public const string Configure = "configure";
    public const string Signal = "signal";
    public const string Execution = "execution";
    public const string DirectiveUpdated = "directive-updated";
    public const string Heartbeat = "heartbeat";
    public const string Price = "price";
    public const string Reset = "reset";
    public const string Trading = "trading";
    public const string Trip = "trip";

    /// <summary>The slippage, in points, a market directive allows.</summary>
    public const int DeviationPoints = 10;

    private const string StateName = "account";
    private const string DayReminderName = "day-reset";
    private const string WeekReminderName = "week-reset";
    private const string BreakerReminderName = "breaker";

    public override Task<JsonElement?> InvokeMethodAsync(string method, JsonElement? argument, CancellationToken cancellationToken) =>
        TurnAsync(state => RunMethodAsync(state, method, argument, cancellationToken), cancellationToken);

    public override Task ReceiveReminderAsync(string reminderName, JsonElement? data, CancellationToken cancellationToken) =>
        TurnAsync<JsonElement?>(async state =>
        {
            if (state.Spec is not null)
            {
                var now = clock.GetUtcNow();
                await CommitAsync(state, state with { Book = Breakers.Advance(state.Book, Profile(state), now) }, now, null, cancellationToken);
            }

            return null;
        }, cancellationToken);

    private async Task<JsonElement?> RunMethodAsync(AccountActorState state, string method, JsonElement? argument, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        switch (method)
        {
            case Configure:
                return await ConfigureAsync(state, Read<ConfigureInput>(argument), now, cancellationToken);
            case Signal:
                return await DecideAsync(state, Read<SignalInput>(argument), now, cancellationToken);
            case Execution:
                var execution = Read<ExecutionInput>(argument);
                return await BookAsync(state, execution.EventId, (book, profile) => AccountLedger.ApplyExecution(book, execution.Report, profile, now), now, cancellationToken);
            case DirectiveUpdated:
                var update = Read<DirectiveUpdateInput>(argument);
                return await BookAsync(state, update.EventId, (book, _) => AccountLedger.ApplyDirectiveUpdate(book, update.Update), now, cancellationToken);
            case Heartbeat:
                var heartbeat = Read<HeartbeatInput>(argument);
                state = state with { LastHeartbeat = heartbeat.Heartbeat.ReceivedAt, Connected = heartbeat.Heartbeat.Connected };
                return await BookAsync(state, heartbeat.EventId, (book, profile) => AccountLedger.ApplyHeartbeat(book, heartbeat.Heartbeat, profile, now), now, cancellationToken);
            case Price:
                var price = Read<PriceInput>(argument);
                return await BookAsync(state, price.EventId, (book, profile) => AccountLedger.ApplyPrice(book, price.Symbol, price.Price, price.ClosedAt, profile), now, cancellationToken);
            case Reset:
                return await ResetAsync(state, Read<ResetInput>(argument), now, cancellationToken);
            case Trading:
                return await SetTradingAsync(state, Read<TradingInput>(argument), now, cancellationToken);
            case Trip:
                return await TripAsync(state, Read<TripInput>(argument), now, cancellationToken);
            default:
                throw new ActorMethodNotFoundException(ActorType, method);
        }
    }

    /// <summary>
    /// Runs a turn on the actor's state. When risk.accounts holds a later turn than that state (the turn committed but
    /// its save through the state manager was lost, and its event may not have come back yet), the turn runs again on
    /// the state that turn committed: run on the older one, it would reuse the committed turn's sequence, whose
    /// account.state and breaker.changed ids the outbox already holds, and its events would be dropped.
    /// </summary>
    private async Task<T> TurnAsync<T>(Func<AccountActorState, Task<T>> turn, CancellationToken cancellationToken)
    {
        try
        {
            return await turn(await LoadAsync(cancellationToken));
        }
        catch (StaleAccountStateException stale)
        {
            await StateManager.SetStateAsync(StateName, stale.Committed, cancellationToken);
            return await turn(stale.Committed);
        }
    }

    /// <summary>The directive id for an action on a signal: "ds" and 22 hex digits of SHA-256, 24 characters, the same on every replay.</summary>
    public static string DirectiveId(string account, string signalId, DirectiveAction action) => "ds" + Hash($"{account}|{signalId}|{action}", 11);

    public static string DecisionId(string account, string signalId) => "dec-" + Hash($"{account}|{signalId}", 10);

    /// <summary>A magic number stable per strategy (positive, 31 bits), so the EA can tell the strategies' orders apart.</summary>
    public static long Magic(string strategy) => BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(strategy)), 0) & 0x7FFF_FFFF;

    private async Task<JsonElement?> ConfigureAsync(AccountActorState state, ConfigureInput input, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var profile = new RiskProfile(input.Spec);
        var next = state with { Spec = input.Spec };
        if (state.SpecTradingEnabled != input.Spec.TradingEnabled)
        {
            next = next with { SpecTradingEnabled = input.Spec.TradingEnabled, Book = next.Book with { TradingEnabled = input.Spec.TradingEnabled } };
        }

        Action<NpgsqlBatch>? audit = null;
        var token = input.Spec.BreakerResetToken;
        if (token is not null && token != state.SpecResetToken)
        {
            // The first spec seen only records its token; a later change asks for one reset.
            next = next with { SpecResetToken = token };
            if (state.Spec is not null && !state.ResetTokens.Contains(token))
            {
                next = ApplyReset(next, token, now);
                audit = batch => batch.BatchCommands.Add(
                    RiskStore.InsertAudit(Id, "breaker-reset", new { token, reason = "breakerResetToken changed in the spec" }, new Requester(null, "spec")));
            }
        }

        next = next with { Book = Breakers.Advance(next.Book, profile, now) };
        await CommitAsync(state, next, now, audit, cancellationToken);
        return null;
    }

    private async Task<JsonElement?> DecideAsync(AccountActorState state, SignalInput input, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (state.Spec is null || state.Handled.Contains(input.EventId))
        {
            return null;
        }

        var profile = Profile(state);
        var signal = input.Signal;
        var book = Breakers.Advance(state.Book, profile, now);
        var evaluation = RiskEngine.Decide(book, profile, signal, now);
        var decision = new RiskDecision(
            DecisionId(Id, signal.Id), Id, signal.Id, signal.Strategy, signal.Symbol, signal.Direction, evaluation.Verdict, evaluation.Lots, evaluation.Checks, now);
        TradeDirective? directive = null;
        if (evaluation.Verdict != RiskVerdict.Block)
        {
            var id = DirectiveId(Id, signal.Id, evaluation.Action);
            var open = evaluation.Action == DirectiveAction.Open;
            directive = new TradeDirective(
                id, Id, signal.Symbol, evaluation.Action, signal.Direction == SignalDirection.Buy ? OrderSide.Buy : OrderSide.Sell, OrderType.Market,
                evaluation.Lots, signal.Entry, open ? signal.StopLoss : null, open ? signal.TakeProfit : null, DeviationPoints, Magic(signal.Strategy),
                TradeDirective.CommentPrefix + id, now, now.AddSeconds(state.Spec.DirectiveTtlSeconds), signal.Strategy, signal.Id);
            book = AccountLedger.AddPending(book, new PendingOrder(
                id, signal.Symbol, signal.Direction, evaluation.Action, evaluation.Lots, signal.Entry, evaluation.HalfOpenTrial));
        }

        var next = Handled(state, input.EventId) with { Book = book };
        await CommitAsync(state, next, now, batch =>
        {
            batch.BatchCommands.Add(RiskStore.InsertDecision(decision, directive?.Id));
            outbox.AddTo(batch, RiskStore.Schema, Topics.Decisions, [CloudEvent.Create(decision.Id, RiskStore.Schema, Topics.Events.RiskDecided, Id, now, decision)]);
            if (directive is not null)
            {
                outbox.AddTo(batch, RiskStore.Schema, Topics.Directives, [CloudEvent.Create(directive.Id, RiskStore.Schema, Topics.Events.DirectiveCreated, Id, now, directive)]);
            }
        }, cancellationToken);
        metrics.Decisions.Add(1, new KeyValuePair<string, object?>("verdict", evaluation.Verdict.ToString()));
        return null;
    }

    private async Task<JsonElement?> BookAsync(
        AccountActorState state, string eventId, Func<AccountRiskState, RiskProfile, AccountRiskState> apply, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (state.Spec is null || state.Handled.Contains(eventId))
        {
            return null;
        }

        var profile = Profile(state);
        // Advance before (so a new window starts from the equity before this event) and after (so the event can trip a breaker).
        var book = Breakers.Advance(apply(Breakers.Advance(state.Book, profile, now), profile), profile, now);
        await CommitAsync(state, Handled(state, eventId) with { Book = book }, now, null, cancellationToken);
        return null;
    }

    private async Task<JsonElement?> ResetAsync(AccountActorState state, ResetInput input, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (state.Spec is null || state.ResetTokens.Contains(input.Token))
        {
            return Write(new ResetResult(Id, input.Token, false, state.Published ?? Snapshot(state, state.Sequence)));
        }

        var next = ApplyReset(state with { Book = Breakers.Advance(state.Book, Profile(state), now) }, input.Token, now);
        var published = await CommitAsync(state, next, now, batch => batch.BatchCommands.Add(
            RiskStore.InsertAudit(Id, "breaker-reset", new { token = input.Token, reason = input.Reason, before = state.Book.Breaker }, input.Requester)),
            cancellationToken);
        return Write(new ResetResult(Id, input.Token, true, published));
    }

    private async Task<JsonElement?> SetTradingAsync(AccountActorState state, TradingInput input, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (state.Spec is null)
        {
            return null;
        }

        var next = state with { Book = Breakers.Advance(state.Book with { TradingEnabled = input.Enabled }, Profile(state), now) };
        var published = await CommitAsync(state, next, now, batch => batch.BatchCommands.Add(
            RiskStore.InsertAudit(Id, "trading", new { enabled = input.Enabled, before = state.Book.TradingEnabled }, input.Requester)),
            cancellationToken);
        return Write(published);
    }

    private async Task<JsonElement?> TripAsync(AccountActorState state, TripInput input, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (state.Spec is null)
        {
            return null;
        }

        var next = state with { Book = Breakers.TripManually(Breakers.Advance(state.Book, Profile(state), now), input.Reason, now) };
        var published = await CommitAsync(state, next, now, batch => batch.BatchCommands.Add(
            RiskStore.InsertAudit(Id, "breaker-trip", new { reason = input.Reason, before = state.Book.Breaker }, input.Requester)),
            cancellationToken);
        return Write(published);
    }

    private static AccountActorState ApplyReset(AccountActorState state, string token, DateTimeOffset now) => state with
    {
        Book = Breakers.Reset(state.Book),
        LastResetToken = token,
        ResetTokens = [.. state.ResetTokens.TakeLast(AccountActorState.MaxResetTokens - 1), token],
    };

    /// <summary>
    /// Ends a turn: publishes breaker.changed when the breaker moved and account.state when the snapshot changed,
    /// with the turn's own writes (added to the batch by <paramref name="writes"/>) and the state it ends with, in one
    /// transaction and one round trip; then keeps the state through the state manager and sets the reminders it needs.
    /// A turn that writes nothing to the risk schema is kept only there.
    /// </summary>
    private async Task<AccountStateSnapshot> CommitAsync(
        AccountActorState before, AccountActorState after, DateTimeOffset now, Action<NpgsqlBatch>? writes, CancellationToken cancellationToken)
    {
        var breakerChanged = before.Book.Breaker.State != after.Book.Breaker.State || before.Book.Breaker.Kind != after.Book.Breaker.Kind;
        var snapshot = Snapshot(after, after.Sequence + 1);
        var stateChanged = before.Published is not { } published || published with { Sequence = 0, LastHeartbeat = null } != snapshot with { Sequence = 0, LastHeartbeat = null };
        if (stateChanged || breakerChanged)
        {
            after = after with { Sequence = snapshot.Sequence, Published = snapshot };
        }
        else
        {
            snapshot = before.Published!;
        }

        if (writes is not null || stateChanged || breakerChanged)
        {
            after = after with { Turn = before.Turn + 1 };
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(connection, transaction);
            writes?.Invoke(batch);
            var breaker = after.Book.Breaker;
            var events = new List<CloudEvent>(2);
            if (breakerChanged)
            {
                var changed = new BreakerChanged(Id, breaker.State, breaker.Kind, breaker.Reason ?? "closed", breaker.Since ?? now, breaker.Until, snapshot.Sequence);
                events.Add(CloudEvent.Create($"{Id}-breaker-{snapshot.Sequence}", RiskStore.Schema, Topics.Events.BreakerChanged, Id, now, changed));
            }

            if (stateChanged || breakerChanged)
            {
                events.Add(CloudEvent.Create($"{Id}-state-{snapshot.Sequence}", RiskStore.Schema, Topics.Events.AccountState, Id, now, snapshot));
            }

            outbox.AddTo(batch, RiskStore.Schema, Topics.Accounts, events);
            var save = RiskStore.SaveTurn(Id, after, stateChanged || breakerChanged ? snapshot : null);
            batch.BatchCommands.Add(save);
            await batch.ExecuteNonQueryAsync(cancellationToken);
            if (save.RecordsAffected != 1)
            {
                throw new StaleAccountStateException(Id, before.Turn, await RiskStore.CommittedStateAsync(transaction, Id, cancellationToken));
            }

            await transaction.CommitAsync(cancellationToken);
            if (breakerChanged && breaker.State == BreakerState.Open)
            {
                metrics.BreakerTrips.Add(1, new KeyValuePair<string, object?>("breaker", breaker.Kind.ToString()));
            }
        }

        after = await EnsureRemindersAsync(after, now, cancellationToken);
        await StateManager.SetStateAsync(StateName, after, cancellationToken);
        return snapshot;
    }

    /// <summary>One-shot reminders at the next day reset, the next week reset and the end of an open breaker's time, each registered once.</summary>
    private async Task<AccountActorState> EnsureRemindersAsync(AccountActorState state, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (state.Spec is null)
        {
            return state;
        }

        var windows = Profile(state).Windows;
        var day = windows.NextDayReset(now);
        if (state.DayReminder != day)
        {
            await RegisterReminderAsync(DayReminderName, null, day - now, TimeSpan.Zero, cancellationToken);
            state = state with { DayReminder = day };
        }

        var week = windows.NextWeekReset(now);
        if (state.WeekReminder != week)
        {
            await RegisterReminderAsync(WeekReminderName, null, week - now, TimeSpan.Zero, cancellationToken);
            state = state with { WeekReminder = week };
        }

        if (state.Book.Breaker is { State: BreakerState.Open, Until: { } until } && state.BreakerReminder != until)
        {
            await RegisterReminderAsync(BreakerReminderName, null, until - now, TimeSpan.Zero, cancellationToken);
            state = state with { BreakerReminder = until };
        }

        return state;
    }

    private AccountStateSnapshot Snapshot(AccountActorState state, long sequence)
    {
        var book = state.Book;
        var breaker = book.Breaker;
        return new AccountStateSnapshot(
            Id, book.TradingEnabled, breaker.State, breaker.Kind, breaker.Reason, breaker.Since, breaker.Until,
            Math.Round(book.DailyPnlPct, 4), Math.Round(book.WeeklyPnlPct, 4), Math.Round(book.DrawdownPct, 4), book.ConsecutiveLosses,
            state.LastResetToken, Math.Round(book.Equity, 2), Math.Round(book.Balance, 2), book.Positions.Count, state.LastHeartbeat, state.Connected, sequence);
    }

    private RiskProfile Profile(AccountActorState state) =>
        new(state.Spec ?? throw new InvalidOperationException($"account {Id} has no configuration"));

    private static AccountActorState Handled(AccountActorState state, string eventId) =>
        state with { Handled = [.. state.Handled.TakeLast(AccountActorState.MaxHandled - 1), eventId] };

    private async Task<AccountActorState> LoadAsync(CancellationToken cancellationToken)
    {
        var (found, state) = await StateManager.TryGetStateAsync<AccountActorState>(StateName, cancellationToken);
        return found && state is not null ? state : new AccountActorState();
    }

    private static T Read<T>(JsonElement? argument) =>
        argument is { } json ? json.Deserialize<T>(PlatformJson.Options) ?? throw new ArgumentException($"the argument is not a {typeof(T).Name}")
        : throw new ArgumentException($"a {typeof(T).Name} argument is required");

    private static JsonElement Write<T>(T value) => JsonSerializer.SerializeToElement(value, PlatformJson.Options);

    private static string Hash(string key, int bytes) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, bytes));
}

/// <summary>A turn ran on a state older than the one its account's latest committed turn left in risk.accounts.</summary>
internal sealed class StaleAccountStateException(string account, long turn, AccountActorState committed)
    : Exception($"account {account}: the actor's state is of turn {turn}, but turn {committed.Turn} is committed")
{
    public AccountActorState Committed { get; } = committed;
}
