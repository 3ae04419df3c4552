using System.Text.Json;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Risk;
using DistortSignals.Gateway.Api;
using DistortSignals.Platform;
using Npgsql;
using NpgsqlTypes;

namespace DistortSignals.Gateway.Storage;

/// <summary>A directive as the gateway keeps it: the directive, its state and who holds or finished it.</summary>
internal sealed record StoredDirective(
    TradeDirective Directive,
    DirectiveState State,
    string? TerminalId,
    DateTimeOffset? ClaimedAt,
    DateTimeOffset? LeaseUntil,
    string? Reason,
    ReportRequest? Report,
    DateTimeOffset UpdatedAt);

/// <summary>What the gateway knows of an account: the newest halt state it saw and its terminal's last heartbeat.</summary>
internal sealed record AccountRow(bool TradingEnabled, BreakerState Breaker, long? StateSequence, AccountHeartbeat? Heartbeat, bool Connected)
{
    public bool Halted => !TradingEnabled || Breaker == BreakerState.Open;

    public static AccountRow Unknown { get; } = new(true, BreakerState.Closed, null, null, false);
}

/// <summary>A report already accepted under its report id, with the answer it got.</summary>
internal sealed record StoredReport(string DirectiveId, ReportRequest Request, ReportAnswer Answer);

/// <summary>A state change made by a bulk statement (cancel or expire): enough to publish its directive.updated.</summary>
internal sealed record ChangedDirective(string Id, string Account, string? TerminalId, string Reason);

/// <summary>
/// The SQL of the gateway schema. State changes take the caller's transaction (so that the outbox rows and the
/// NOTIFY that wakes long polls commit with them); reads for the API use their own connection.
/// </summary>
internal sealed class DirectiveStore(NpgsqlDataSource database)
{
    public const string Schema = "gateway";

    /// <summary>The LISTEN/NOTIFY channel that carries the account whose pending directives changed; delivered on commit.</summary>
    public const string ChangedChannel = "gateway_directives";

    private const string Columns = "directive::text, state, terminal_id, claimed_at, lease_until, reason, report::text, updated_at";

    private const string AccountSql =
        "SELECT coalesce(trading_enabled, spec_trading_enabled), breaker, state_sequence, heartbeat::text, connected FROM gateway.accounts WHERE account = @account";

    internal static async Task<bool> InsertAsync(NpgsqlTransaction transaction, TradeDirective directive, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction,
            "INSERT INTO gateway.directives (id, account, symbol, state, directive, created_at, expires_at, updated_at) " +
            "VALUES (@id, @account, @symbol, 'Pending', @directive, @createdAt, @expiresAt, @now) ON CONFLICT (id) DO NOTHING");
        command.Parameters.AddWithValue("id", directive.Id);
        command.Parameters.AddWithValue("account", directive.Account);
        command.Parameters.AddWithValue("symbol", directive.Symbol);
        command.Parameters.AddWithValue("directive", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(directive, PlatformJson.Options));
        command.Parameters.AddWithValue("createdAt", directive.CreatedAt);
        command.Parameters.AddWithValue("expiresAt", directive.ExpiresAt);
        command.Parameters.AddWithValue("now", now);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>The account's directive, locked until the transaction ends; null when there is none (or it is another account's).</summary>
    internal static async Task<StoredDirective?> LockAsync(NpgsqlTransaction transaction, string account, string id, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction, $"SELECT {Columns} FROM gateway.directives WHERE id = @id AND account = @account FOR UPDATE");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("account", account);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>Moves a directive to <paramref name="state"/>; null arguments keep the stored values.</summary>
    internal static async Task SetStateAsync(
        NpgsqlTransaction transaction,
        string id,
        DirectiveState state,
        DateTimeOffset now,
        string? reason = null,
        string? terminalId = null,
        DateTimeOffset? leaseUntil = null,
        ReportRequest? report = null,
        CancellationToken cancellationToken = default)
    {
        await using var command = Command(transaction,
            "UPDATE gateway.directives SET state = @state, updated_at = @now, reason = coalesce(@reason, reason), " +
            "terminal_id = coalesce(@terminal, terminal_id), claimed_at = CASE WHEN @terminal IS NULL THEN claimed_at ELSE @now END, " +
            "lease_until = coalesce(@lease, lease_until), report = coalesce(@report, report) WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("state", state.ToString());
        command.Parameters.AddWithValue("now", now);
        command.Parameters.Add(Nullable("reason", NpgsqlDbType.Text, reason));
        command.Parameters.Add(Nullable("terminal", NpgsqlDbType.Text, terminalId));
        command.Parameters.Add(Nullable("lease", NpgsqlDbType.TimestampTz, leaseUntil));
        command.Parameters.Add(Nullable("report", NpgsqlDbType.Jsonb, report is null ? null : JsonSerializer.Serialize(report, PlatformJson.Options)));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Cancels the account's pending directives; returns what changed.</summary>
    internal static async Task<List<ChangedDirective>> CancelPendingAsync(
        NpgsqlTransaction transaction, string account, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction,
            "UPDATE gateway.directives SET state = 'Cancelled', reason = @reason, updated_at = @now " +
            "WHERE account = @account AND state = 'Pending' RETURNING id, account, terminal_id, reason");
        command.Parameters.AddWithValue("account", account);
        command.Parameters.AddWithValue("reason", reason);
        command.Parameters.AddWithValue("now", now);
        return await ReadChangedAsync(command, cancellationToken);
    }

    /// <summary>
    /// Expires pending directives past their expiresAt and claimed ones past their lease, at most
    /// <paramref name="limit"/>; rows another replica is changing are skipped, not waited for.
    /// </summary>
    internal static async Task<List<ChangedDirective>> ExpireDueAsync(NpgsqlTransaction transaction, DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction, """
            UPDATE gateway.directives d SET state = 'Expired', updated_at = @now,
                reason = CASE WHEN d.state = 'Pending' THEN 'not claimed before expiresAt' ELSE 'the claim lease ended without a report' END
            WHERE d.id IN (
                SELECT id FROM gateway.directives
                WHERE (state = 'Pending' AND expires_at <= @now) OR (state = 'Claimed' AND lease_until <= @now)
                ORDER BY id LIMIT @limit FOR UPDATE SKIP LOCKED)
            RETURNING d.id, d.account, d.terminal_id, d.reason
            """);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("limit", limit);
        return await ReadChangedAsync(command, cancellationToken);
    }

    /// <summary>Wakes the long polls of <paramref name="account"/> (in every replica) when the transaction commits.</summary>
    internal static async Task NotifyAsync(NpgsqlTransaction transaction, IEnumerable<string> accounts, CancellationToken cancellationToken)
    {
        var distinct = accounts.Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.Length == 0)
        {
            return;
        }

        await using var command = Command(transaction, $"SELECT pg_notify('{ChangedChannel}', a) FROM unnest(@accounts) AS a");
        command.Parameters.AddWithValue("accounts", distinct);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The account's pending directives that have not expired at <paramref name="now"/>, oldest first.</summary>
    public async Task<IReadOnlyList<TradeDirective>> PendingAsync(string account, DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "SELECT directive::text FROM gateway.directives WHERE account = @account AND state = 'Pending' AND expires_at > @now ORDER BY created_at, id LIMIT @limit");
        command.Parameters.AddWithValue("account", account);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("limit", limit);
        var directives = new List<TradeDirective>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            directives.Add(Deserialize<TradeDirective>(reader.GetString(0)));
        }

        return directives;
    }

    /// <summary>Directives for operations, newest first; each filter is optional.</summary>
    public async Task<IReadOnlyList<StoredDirective>> QueryAsync(string? account, DirectiveState? state, int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            $"SELECT {Columns} FROM gateway.directives WHERE (@account::text IS NULL OR account = @account) " +
            "AND (@state::text IS NULL OR state = @state) ORDER BY created_at DESC, id LIMIT @limit");
        command.Parameters.Add(Nullable("account", NpgsqlDbType.Text, account));
        command.Parameters.Add(Nullable("state", NpgsqlDbType.Text, state?.ToString()));
        command.Parameters.AddWithValue("limit", limit);
        var directives = new List<StoredDirective>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            directives.Add(Read(reader));
        }

        return directives;
    }

    internal static async Task<StoredReport?> FindReportAsync(NpgsqlTransaction transaction, string account, string reportId, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction, "SELECT directive_id, request::text, answer::text FROM gateway.reports WHERE account = @account AND report_id = @reportId");
        command.Parameters.AddWithValue("account", account);
        command.Parameters.AddWithValue("reportId", reportId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StoredReport(reader.GetString(0), Deserialize<ReportRequest>(reader.GetString(1)), Deserialize<ReportAnswer>(reader.GetString(2)))
            : null;
    }

    internal static async Task InsertReportAsync(NpgsqlTransaction transaction, string account, ReportRequest request, ReportAnswer answer, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction,
            "INSERT INTO gateway.reports (account, report_id, directive_id, request, answer) VALUES (@account, @reportId, @directiveId, @request, @answer)");
        command.Parameters.AddWithValue("account", account);
        command.Parameters.AddWithValue("reportId", answer.ReportId);
        command.Parameters.AddWithValue("directiveId", answer.DirectiveId);
        command.Parameters.AddWithValue("request", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(request, PlatformJson.Options));
        command.Parameters.AddWithValue("answer", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(answer, PlatformJson.Options));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The account's row; <see cref="AccountRow.Unknown"/> before the gateway has heard of it.</summary>
    internal static async Task<AccountRow> AccountAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string account, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(AccountSql, connection, transaction);
        command.Parameters.AddWithValue("account", account);
        return await ReadAccountAsync(command, cancellationToken);
    }

    /// <summary>
    /// The account's row, locked against a change of its halt state until the transaction ends (and created as
    /// <see cref="AccountRow.Unknown"/> says when the gateway has not heard of the account). A halt that commits first
    /// is read here; one that comes later waits for this transaction, and then its cancelling sees what this one stored.
    /// </summary>
    internal static async Task<AccountRow> LockAccountAsync(NpgsqlTransaction transaction, string account, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction, $"INSERT INTO gateway.accounts (account) VALUES (@account) ON CONFLICT (account) DO NOTHING; {AccountSql} FOR SHARE");
        command.Parameters.AddWithValue("account", account);
        return await ReadAccountAsync(command, cancellationToken);
    }

    private static async Task<AccountRow> ReadAccountAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return AccountRow.Unknown;
        }

        return new AccountRow(
            reader.GetBoolean(0),
            Enum.Parse<BreakerState>(reader.GetString(1)),
            reader.IsDBNull(2) ? null : reader.GetInt64(2),
            reader.IsDBNull(3) ? null : Deserialize<AccountHeartbeat>(reader.GetString(3)),
            reader.GetBoolean(4));
    }

    public async Task<AccountRow> AccountAsync(string account, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await AccountAsync(connection, null, account, cancellationToken);
    }

    /// <summary>Records the spec's kill switch (used until risk's first account.state); returns whether anything changed.</summary>
    internal static async Task<bool> ApplySpecAsync(NpgsqlTransaction transaction, string account, bool tradingEnabled, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction,
            "INSERT INTO gateway.accounts AS a (account, spec_trading_enabled) VALUES (@account, @enabled) " +
            "ON CONFLICT (account) DO UPDATE SET spec_trading_enabled = @enabled, updated_at = now() WHERE a.spec_trading_enabled <> @enabled");
        command.Parameters.AddWithValue("account", account);
        command.Parameters.AddWithValue("enabled", tradingEnabled);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Applies a halt state from risk unless the stored one is newer; <paramref name="tradingEnabled"/> null keeps the
    /// stored value (breaker.changed does not carry it). A turn of risk that moves the breaker publishes breaker.changed
    /// and then account.state with the same sequence, so the second is applied too: it carries the kill switch.
    /// Returns whether it was applied.
    /// </summary>
    internal static async Task<bool> ApplyHaltStateAsync(
        NpgsqlTransaction transaction, string account, bool? tradingEnabled, BreakerState breaker, long sequence, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction,
            "INSERT INTO gateway.accounts AS a (account, trading_enabled, breaker, state_sequence) VALUES (@account, @enabled, @breaker, @sequence) " +
            "ON CONFLICT (account) DO UPDATE SET trading_enabled = coalesce(@enabled, a.trading_enabled), breaker = @breaker, " +
            "state_sequence = @sequence, updated_at = now() WHERE a.state_sequence IS NULL OR a.state_sequence <= @sequence");
        command.Parameters.AddWithValue("account", account);
        command.Parameters.Add(Nullable("enabled", NpgsqlDbType.Boolean, tradingEnabled));
        command.Parameters.AddWithValue("breaker", breaker.ToString());
        command.Parameters.AddWithValue("sequence", sequence);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    internal static async Task RecordHeartbeatAsync(NpgsqlTransaction transaction, AccountHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction,
            "INSERT INTO gateway.accounts AS a (account, terminal_id, last_heartbeat, heartbeat, connected) VALUES (@account, @terminal, @at, @heartbeat, true) " +
            "ON CONFLICT (account) DO UPDATE SET terminal_id = @terminal, last_heartbeat = @at, heartbeat = @heartbeat, connected = true, updated_at = now()");
        command.Parameters.AddWithValue("account", heartbeat.Account);
        command.Parameters.AddWithValue("terminal", heartbeat.TerminalId);
        command.Parameters.AddWithValue("at", heartbeat.ReceivedAt);
        command.Parameters.AddWithValue("heartbeat", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(heartbeat, PlatformJson.Options));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Marks accounts whose terminal has been silent since before <paramref name="cutoff"/> disconnected; returns their last heartbeats.</summary>
    internal static async Task<List<AccountHeartbeat>> DisconnectSilentAsync(NpgsqlTransaction transaction, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction,
            "UPDATE gateway.accounts SET connected = false, updated_at = now() WHERE account IN " +
            "(SELECT account FROM gateway.accounts WHERE connected AND last_heartbeat < @cutoff FOR UPDATE SKIP LOCKED) RETURNING heartbeat::text");
        command.Parameters.AddWithValue("cutoff", cutoff);
        var heartbeats = new List<AccountHeartbeat>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            heartbeats.Add(Deserialize<AccountHeartbeat>(reader.GetString(0)));
        }

        return heartbeats;
    }

    /// <summary>Keeps a symbol's latest close (for the paper terminal); an older bar changes nothing.</summary>
    internal static async Task RecordPriceAsync(NpgsqlTransaction transaction, string symbol, double close, DateTimeOffset barTime, CancellationToken cancellationToken)
    {
        await using var command = Command(transaction,
            "INSERT INTO gateway.prices AS p (symbol, close, bar_time) VALUES (@symbol, @close, @time) " +
            "ON CONFLICT (symbol) DO UPDATE SET close = @close, bar_time = @time WHERE p.bar_time <= @time");
        command.Parameters.AddWithValue("symbol", symbol);
        command.Parameters.AddWithValue("close", close);
        command.Parameters.AddWithValue("time", barTime);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The latest closes of the given symbols (those without a bar yet are absent).</summary>
    public async Task<IReadOnlyDictionary<string, double>> LatestPricesAsync(IReadOnlyCollection<string> symbols, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT symbol, close FROM gateway.prices WHERE symbol = ANY(@symbols)");
        command.Parameters.AddWithValue("symbols", symbols.ToArray());
        var prices = new Dictionary<string, double>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            prices[reader.GetString(0)] = reader.GetDouble(1);
        }

        return prices;
    }

    private static async Task<List<ChangedDirective>> ReadChangedAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var changed = new List<ChangedDirective>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            changed.Add(new ChangedDirective(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3)));
        }

        return changed;
    }

    private static StoredDirective Read(NpgsqlDataReader reader) => new(
        Deserialize<TradeDirective>(reader.GetString(0)),
        Enum.Parse<DirectiveState>(reader.GetString(1)),
        reader.IsDBNull(2) ? null : reader.GetString(2),
        reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3),
        reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
        reader.IsDBNull(5) ? null : reader.GetString(5),
        reader.IsDBNull(6) ? null : Deserialize<ReportRequest>(reader.GetString(6)),
        reader.GetFieldValue<DateTimeOffset>(7));

    private static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, PlatformJson.Options) ?? throw new InvalidDataException($"a stored {typeof(T).Name} is empty");

    private static NpgsqlCommand Command(NpgsqlTransaction transaction, string sql) => new(sql, transaction.Connection, transaction);

    private static NpgsqlParameter Nullable(string name, NpgsqlDbType type, object? value) => new(name, type) { Value = value ?? DBNull.Value };
}
