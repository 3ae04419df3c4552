using System.Text.Json;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Risk;
using DistortSignals.Platform;
using DistortSignals.Risk.Accounts;
using Npgsql;
using NpgsqlTypes;

namespace DistortSignals.Risk.Storage;

/// <summary>The risk schema's tables: the accounts with their spec and latest snapshot, the decisions and the audit of operations.</summary>
internal sealed class RiskStore(NpgsqlDataSource database)
{
    public const string Schema = "risk";

    public NpgsqlDataSource Database => database;

    public async Task UpsertSpecAsync(string account, BrokerAccountSpec spec, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            INSERT INTO risk.accounts (account, spec) VALUES (@account, @spec)
            ON CONFLICT (account) DO UPDATE SET spec = excluded.spec, updated_at = now()
            """, connection);
        command.Parameters.AddWithValue("account", account);
        command.Parameters.AddWithValue("spec", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(spec, PlatformJson.Options));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The statement that writes the state a turn ends with (numbered <paramref name="state"/>.Turn), the account's
    /// newest snapshot when it changed and the symbols it holds (so prices reach it), for the batch of the turn's
    /// writes. It updates no row when a later turn is already committed (the actor's own copy of its state lost that
    /// turn's save); <see cref="CommittedStateAsync"/> then reads that turn's state.
    /// </summary>
    public static NpgsqlBatchCommand SaveTurn(string account, AccountActorState state, AccountStateSnapshot? snapshot)
    {
        var update = new NpgsqlBatchCommand("""
            UPDATE risk.accounts SET actor_state = @state, turn = @turn, snapshot = coalesce(@snapshot, snapshot), symbols = @symbols, updated_at = now()
            WHERE account = @account AND turn < @turn
            """);
        update.Parameters.AddWithValue("account", account);
        update.Parameters.AddWithValue("state", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(state, PlatformJson.Options));
        update.Parameters.AddWithValue("turn", state.Turn);
        update.Parameters.AddWithValue("snapshot", NpgsqlDbType.Jsonb, snapshot is null ? DBNull.Value : JsonSerializer.Serialize(snapshot, PlatformJson.Options));
        update.Parameters.AddWithValue("symbols", state.Book.Positions.Select(p => p.Symbol).Distinct().ToArray());
        return update;
    }

    /// <summary>The state the account's latest committed turn wrote.</summary>
    public static async Task<AccountActorState> CommittedStateAsync(NpgsqlTransaction transaction, string account, CancellationToken cancellationToken)
    {
        await using var read = new NpgsqlCommand("SELECT actor_state::text FROM risk.accounts WHERE account = @account", transaction.Connection, transaction);
        read.Parameters.AddWithValue("account", account);
        return await read.ExecuteScalarAsync(cancellationToken) is string committed
            ? JsonSerializer.Deserialize<AccountActorState>(committed, PlatformJson.Options)!
            : throw new InvalidOperationException($"risk.accounts has no row, or no committed state, for account {account}");
    }

    public static NpgsqlBatchCommand InsertDecision(RiskDecision decision, string? directiveId)
    {
        var command = new NpgsqlBatchCommand("""
            INSERT INTO risk.decisions (id, account, signal_id, strategy, symbol, verdict, lots, directive_id, payload, decided_at)
            VALUES (@id, @account, @signal, @strategy, @symbol, @verdict, @lots, @directive, @payload, @at)
            ON CONFLICT (id) DO NOTHING
            """);
        command.Parameters.AddWithValue("id", decision.Id);
        command.Parameters.AddWithValue("account", decision.Account);
        command.Parameters.AddWithValue("signal", decision.SignalId);
        command.Parameters.AddWithValue("strategy", decision.Strategy);
        command.Parameters.AddWithValue("symbol", decision.Symbol);
        command.Parameters.AddWithValue("verdict", decision.Verdict.ToString());
        command.Parameters.AddWithValue("lots", decision.Lots);
        command.Parameters.AddWithValue("directive", (object?)directiveId ?? DBNull.Value);
        command.Parameters.AddWithValue("payload", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(decision, PlatformJson.Options));
        command.Parameters.AddWithValue("at", decision.DecidedAt);
        return command;
    }

    public static NpgsqlBatchCommand InsertAudit(string account, string action, object detail, Requester requester)
    {
        var command = new NpgsqlBatchCommand("INSERT INTO risk.audit (account, action, detail, key_id, key_name) VALUES (@account, @action, @detail, @keyId, @keyName)");
        command.Parameters.AddWithValue("account", account);
        command.Parameters.AddWithValue("action", action);
        command.Parameters.AddWithValue("detail", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(detail, PlatformJson.Options));
        command.Parameters.AddWithValue("keyId", (object?)requester.KeyId ?? DBNull.Value);
        command.Parameters.AddWithValue("keyName", (object?)requester.KeyName ?? DBNull.Value);
        return command;
    }

    public async Task<bool> ExistsAsync(string account, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT EXISTS (SELECT 1 FROM risk.accounts WHERE account = @account)");
        command.Parameters.AddWithValue("account", account);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>The configured accounts among <paramref name="accounts"/>, in the transaction of a delivery.</summary>
    public static async Task<List<string>> ConfiguredAsync(NpgsqlTransaction transaction, IReadOnlyList<string> accounts, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT account FROM risk.accounts WHERE account = ANY(@accounts) ORDER BY account", transaction.Connection, transaction);
        command.Parameters.AddWithValue("accounts", accounts.ToArray());
        return await ReadStringsAsync(command, cancellationToken);
    }

    /// <summary>The accounts holding a position in <paramref name="symbol"/>.</summary>
    public static async Task<List<string>> HoldingAsync(NpgsqlTransaction transaction, string symbol, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT account FROM risk.accounts WHERE symbols @> ARRAY[@symbol] ORDER BY account", transaction.Connection, transaction);
        command.Parameters.AddWithValue("symbol", symbol);
        return await ReadStringsAsync(command, cancellationToken);
    }

    /// <summary>Every configured account with its latest snapshot (null before its actor first ran).</summary>
    public async Task<List<(string Account, AccountStateSnapshot? Snapshot)>> AccountsAsync(string? account, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT account, snapshot::text FROM risk.accounts WHERE @account::text IS NULL OR account = @account ORDER BY account");
        command.Parameters.AddWithValue("account", NpgsqlDbType.Text, (object?)account ?? DBNull.Value);
        var accounts = new List<(string, AccountStateSnapshot?)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            accounts.Add((reader.GetString(0), reader.IsDBNull(1) ? null : JsonSerializer.Deserialize<AccountStateSnapshot>(reader.GetString(1), PlatformJson.Options)));
        }

        return accounts;
    }

    public async Task<List<RiskDecision>> DecisionsAsync(string? account, string? verdict, int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT payload::text FROM risk.decisions
            WHERE (@account::text IS NULL OR account = @account) AND (@verdict::text IS NULL OR verdict = @verdict)
            ORDER BY decided_at DESC, id LIMIT @limit
            """);
        command.Parameters.AddWithValue("account", NpgsqlDbType.Text, (object?)account ?? DBNull.Value);
        command.Parameters.AddWithValue("verdict", NpgsqlDbType.Text, (object?)verdict ?? DBNull.Value);
        command.Parameters.AddWithValue("limit", limit);
        var decisions = new List<RiskDecision>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            decisions.Add(JsonSerializer.Deserialize<RiskDecision>(reader.GetString(0), PlatformJson.Options)!);
        }

        return decisions;
    }

    private static async Task<List<string>> ReadStringsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}

/// <summary>Who asked for an operation: the API key's id and name from the request's claims.</summary>
internal sealed record Requester(string? KeyId, string? KeyName);
