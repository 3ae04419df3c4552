using DistortSignals.Core.Execution;
using DistortSignals.Core.Risk;
using DistortSignals.Gateway.Api;
using DistortSignals.Gateway.Storage;
using DistortSignals.Platform.Messaging;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DistortSignals.Gateway.Processing;

/// <summary>How a claim ended: granted (with the lease), or refused with the status and why.</summary>
internal sealed record ClaimResult(ClaimAnswer? Answer, int Status, string? Problem);

/// <summary>How a report ended: accepted (the same answer for the same report), or refused with the status, why and (for a 400) the field.</summary>
internal sealed record ReportResult(ReportAnswer? Answer, int Status, string? Problem, string? Field = null);

/// <summary>
/// The directive state machine (DESIGN.md section 4): Pending -> Claimed -> Filled | PartiallyFilled | Rejected |
/// Failed, and Pending | Claimed -> Expired | Cancelled. Every transition is one transaction that locks the
/// directive's row, changes it, adds its <c>directive.updated</c> (and <c>execution.reported</c>) to the outbox and
/// notifies the long polls, so that the row, the events and the wake-up commit together or not at all.
/// </summary>
internal sealed class DirectiveLedger(
    NpgsqlDataSource database, IOutbox outbox, PendingDirectivesFeed feed, TimeProvider clock, IOptions<GatewayOptions> options, GatewayMetrics metrics)
{
    private readonly GatewayOptions _options = options.Value;

    /// <summary>Stores a new directive from risk; cancels it at once when the account is halted. A repeated id changes nothing.</summary>
    public async Task CreateAsync(NpgsqlTransaction transaction, TradeDirective directive, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (!await DirectiveStore.InsertAsync(transaction, directive, now, cancellationToken))
        {
            return;
        }

        metrics.DirectivesReceived.Add(1);

        // Locked: a halt committing meanwhile would otherwise cancel the account's pending directives without this one.
        var account = await DirectiveStore.LockAccountAsync(transaction, directive.Account, cancellationToken);
        if (account.Halted)
        {
            await DirectiveStore.SetStateAsync(transaction, directive.Id, DirectiveState.Cancelled, now, HaltReason(account), cancellationToken: cancellationToken);
            await PublishUpdatesAsync(transaction, [new DirectiveUpdate(directive.Id, directive.Account, DirectiveState.Cancelled, null, HaltReason(account), now)], cancellationToken);
        }

        await DirectiveStore.NotifyAsync(transaction, [directive.Account], cancellationToken);
    }

    /// <summary>Cancels the account's pending directives when it is halted; claimed ones are in flight at a terminal and finish by a report or expire.</summary>
    public async Task CancelIfHaltedAsync(NpgsqlTransaction transaction, string account, CancellationToken cancellationToken)
    {
        var state = await DirectiveStore.AccountAsync(transaction.Connection!, transaction, account, cancellationToken);
        if (!state.Halted)
        {
            return;
        }

        var now = clock.GetUtcNow();
        var cancelled = await DirectiveStore.CancelPendingAsync(transaction, account, HaltReason(state), now, cancellationToken);
        await PublishUpdatesAsync(transaction, [.. cancelled.Select(c => new DirectiveUpdate(c.Id, c.Account, DirectiveState.Cancelled, null, c.Reason, now))], cancellationToken);
        await DirectiveStore.NotifyAsync(transaction, [account], cancellationToken);
    }

    public async Task<ClaimResult> ClaimAsync(string account, string id, string terminalId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var stored = await DirectiveStore.LockAsync(transaction, account, id, cancellationToken);
        if (stored is null)
        {
            return new ClaimResult(null, StatusCodes.Status404NotFound, NotFound(id));
        }

        var now = clock.GetUtcNow();
        switch (stored.State)
        {
            case DirectiveState.Claimed when stored.LeaseUntil <= now:
                // The sweeper has not come by yet: the lapsed claim expires now, and is never leased again.
                await ChangeAsync(transaction, stored.Directive, DirectiveState.Expired, stored.TerminalId, "the claim lease ended without a report", now, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                feed.Changed(account);
                metrics.ClaimsRefused.Add(1);
                return new ClaimResult(null, StatusCodes.Status409Conflict, $"Directive {id} expired: its claim lease ended at {stored.LeaseUntil:O} without a report.");
            case DirectiveState.Claimed when stored.TerminalId == terminalId:
                return new ClaimResult(new ClaimAnswer(stored.Directive, terminalId, stored.LeaseUntil!.Value), StatusCodes.Status200OK, null);
            case DirectiveState.Claimed:
                metrics.ClaimsRefused.Add(1);
                return new ClaimResult(null, StatusCodes.Status409Conflict, $"Directive {id} is claimed by another terminal until {stored.LeaseUntil:O}.");
            case DirectiveState.Pending when stored.Directive.ExpiresAt <= now:
                await ChangeAsync(transaction, stored.Directive, DirectiveState.Expired, null, "not claimed before expiresAt", now, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                feed.Changed(account);
                metrics.ClaimsRefused.Add(1);
                return new ClaimResult(null, StatusCodes.Status409Conflict, $"Directive {id} expired at {stored.Directive.ExpiresAt:O}.");
            case DirectiveState.Pending:
                var leaseUntil = now + _options.ClaimLease;
                await DirectiveStore.SetStateAsync(transaction, id, DirectiveState.Claimed, now, terminalId: terminalId, leaseUntil: leaseUntil, cancellationToken: cancellationToken);
                await PublishUpdatesAsync(transaction, [new DirectiveUpdate(id, account, DirectiveState.Claimed, terminalId, null, now)], cancellationToken);
                await DirectiveStore.NotifyAsync(transaction, [account], cancellationToken);
                await transaction.CommitAsync(cancellationToken);

                // The NOTIFY reaches this process a moment after the commit; a poll in that moment must not see the directive as pending.
                feed.Changed(account);
                metrics.Claims.Add(1);
                return new ClaimResult(new ClaimAnswer(stored.Directive, terminalId, leaseUntil), StatusCodes.Status200OK, null);
            default:
                metrics.ClaimsRefused.Add(1);
                return new ClaimResult(null, StatusCodes.Status409Conflict, $"Directive {id} is {stored.State}{(stored.Reason is null ? "" : $" ({stored.Reason})")} and cannot be claimed.");
        }
    }

    /// <summary>
    /// Applies a terminal's report. A claimed directive takes the report's outcome. A directive whose claim lapsed
    /// (Expired with a terminal) still takes it: the terminal may well have traded, and the broker's facts win.
    /// A reused report id answers as the first time; a different report on a finished directive is a conflict.
    /// </summary>
    public async Task<ReportResult> ReportAsync(string account, string id, ReportRequest request, ExecutionOutcome outcome, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var stored = await DirectiveStore.LockAsync(transaction, account, id, cancellationToken);
        if (stored is null)
        {
            return new ReportResult(null, StatusCodes.Status404NotFound, NotFound(id));
        }

        if (await DirectiveStore.FindReportAsync(transaction, account, request.ReportId!, cancellationToken) is { } earlier)
        {
            return earlier.DirectiveId == id && earlier.Request == request
                ? new ReportResult(earlier.Answer, StatusCodes.Status200OK, null)
                : new ReportResult(null, StatusCodes.Status409Conflict, $"Report id {request.ReportId} was already used for a different report (directive {earlier.DirectiveId}); make a new report id per report.");
        }

        if (request.FilledVolume > stored.Directive.Volume * (1 + 1e-9))
        {
            return new ReportResult(null, StatusCodes.Status400BadRequest, $"{request.FilledVolume} is more than the directive's volume {stored.Directive.Volume}", "filledVolume");
        }

        var state = StateOf(outcome);
        var answer = new ReportAnswer(id, request.ReportId!, state);
        switch (stored.State)
        {
            case DirectiveState.Pending:
                return new ReportResult(null, StatusCodes.Status409Conflict, $"Directive {id} is Pending: claim it before executing and reporting.");
            case DirectiveState.Claimed:
            case DirectiveState.Expired when stored.TerminalId is not null:
                var now = clock.GetUtcNow();
                await DirectiveStore.SetStateAsync(transaction, id, state, now, request.Message, report: request, cancellationToken: cancellationToken);
                await PublishUpdatesAsync(transaction, [new DirectiveUpdate(id, account, state, stored.TerminalId, request.Message, now)], cancellationToken);
                var reported = new ExecutionReported(request.ReportId!, stored.Directive, outcome, request.Ticket, request.FilledVolume ?? 0, request.Price,
                    request.Retcode, request.Message, request.ExecutedAt ?? now, stored.TerminalId!, now);
                var reportEvent = CloudEvent.Create($"{id}-report-{request.ReportId}", DirectiveStore.Schema, Topics.Events.ExecutionReported, account, now, reported);
                await outbox.AddAsync(transaction, DirectiveStore.Schema, Topics.Executions, reportEvent, cancellationToken);
                await DirectiveStore.InsertReportAsync(transaction, account, request, answer, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                metrics.Reports.Add(1, new KeyValuePair<string, object?>("outcome", outcome.ToString()));
                return new ReportResult(answer, StatusCodes.Status200OK, null);
            case var final when stored.Report is { } accepted && SameExecution(accepted, request) && final == state:
                // The same facts under a new report id (an EA that lost its report id on restart): the same answer, no new event.
                var repeated = new ReportAnswer(id, request.ReportId!, final);
                await DirectiveStore.InsertReportAsync(transaction, account, request, repeated, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                return new ReportResult(repeated, StatusCodes.Status200OK, null);
            default:
                metrics.ReportsRefused.Add(1);
                return new ReportResult(null, StatusCodes.Status409Conflict,
                    $"Directive {id} is already {stored.State}{(stored.Report is null ? "" : $" by report {stored.Report.ReportId}")}; this report conflicts with it.");
        }
    }

    /// <summary>Records a heartbeat, publishes it, and answers from the newest halt state seen.</summary>
    public async Task<HeartbeatAnswer> HeartbeatAsync(AccountHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await DirectiveStore.RecordHeartbeatAsync(transaction, heartbeat, cancellationToken);
        await PublishHeartbeatAsync(transaction, heartbeat, cancellationToken);
        var account = await DirectiveStore.AccountAsync(connection, transaction, heartbeat.Account, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        metrics.Heartbeats.Add(1);
        return new HeartbeatAnswer(account.TradingEnabled, account.Breaker, _options.PollSeconds);
    }

    /// <summary>Expires what is due and marks silent terminals disconnected; returns how many changes it made.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var expired = await DirectiveStore.ExpireDueAsync(transaction, now, 500, cancellationToken);
        await PublishUpdatesAsync(transaction, [.. expired.Select(e => new DirectiveUpdate(e.Id, e.Account, DirectiveState.Expired, e.TerminalId, e.Reason, now))], cancellationToken);
        await DirectiveStore.NotifyAsync(transaction, expired.Select(e => e.Account), cancellationToken);
        var silent = await DirectiveStore.DisconnectSilentAsync(transaction, now - _options.HeartbeatTimeout, cancellationToken);
        foreach (var heartbeat in silent)
        {
            await PublishHeartbeatAsync(transaction, heartbeat with { Connected = false, ReceivedAt = now }, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        foreach (var account in expired.Select(e => e.Account).Distinct(StringComparer.Ordinal))
        {
            feed.Changed(account);
        }

        metrics.DirectivesExpired.Add(expired.Count);
        return expired.Count + silent.Count;
    }

    internal static DirectiveState StateOf(ExecutionOutcome outcome) => outcome switch
    {
        ExecutionOutcome.Filled => DirectiveState.Filled,
        ExecutionOutcome.Partial => DirectiveState.PartiallyFilled,
        ExecutionOutcome.Rejected => DirectiveState.Rejected,
        _ => DirectiveState.Failed,
    };

    private static bool SameExecution(ReportRequest accepted, ReportRequest request) =>
        string.Equals(accepted.Outcome, request.Outcome, StringComparison.OrdinalIgnoreCase)
        && accepted.Ticket == request.Ticket
        && accepted.FilledVolume == request.FilledVolume
        && accepted.Price == request.Price;

    private async Task ChangeAsync(
        NpgsqlTransaction transaction, TradeDirective directive, DirectiveState state, string? terminalId, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await DirectiveStore.SetStateAsync(transaction, directive.Id, state, now, reason, cancellationToken: cancellationToken);
        await PublishUpdatesAsync(transaction, [new DirectiveUpdate(directive.Id, directive.Account, state, terminalId, reason, now)], cancellationToken);
        await DirectiveStore.NotifyAsync(transaction, [directive.Account], cancellationToken);
    }

    /// <summary>Each directive reaches a state at most once, so (id, state) is the event's deterministic id.</summary>
    private Task PublishUpdatesAsync(NpgsqlTransaction transaction, IReadOnlyList<DirectiveUpdate> updates, CancellationToken cancellationToken) =>
        outbox.AddRangeAsync(transaction, DirectiveStore.Schema, Topics.Directives,
            [.. updates.Select(u => CloudEvent.Create($"{u.Id}-{u.State.ToString().ToLowerInvariant()}", DirectiveStore.Schema, Topics.Events.DirectiveUpdated, u.Account, u.At, u))],
            cancellationToken);

    private Task PublishHeartbeatAsync(NpgsqlTransaction transaction, AccountHeartbeat heartbeat, CancellationToken cancellationToken) =>
        outbox.AddAsync(transaction, DirectiveStore.Schema, Topics.Accounts,
            CloudEvent.Create($"heartbeat-{heartbeat.Account}-{heartbeat.ReceivedAt.UtcTicks}{(heartbeat.Connected ? "" : "-lost")}", DirectiveStore.Schema,
                Topics.Events.AccountHeartbeat, heartbeat.Account, heartbeat.ReceivedAt, heartbeat),
            cancellationToken);

    private static string HaltReason(AccountRow account) =>
        !account.TradingEnabled ? "trading is disabled for the account" : "the account's circuit breaker is open";

    private static string NotFound(string id) => $"There is no directive {id} for this account.";
}
