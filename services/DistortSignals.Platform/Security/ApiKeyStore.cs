using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DistortSignals.Platform.Security;

/// <summary>Who a valid key is: its public id, its scope and the name given when it was made.</summary>
public sealed record ApiKeyIdentity(string KeyId, string Scope, string Name);

/// <summary>A new key. The secret is shown this once; only its hash is stored.</summary>
public sealed record CreatedApiKey(string KeyId, string Secret);

/// <summary>The outcome of importing a configured key; a key once revoked stays revoked.</summary>
public sealed record ImportedApiKey(string KeyId, bool Revoked);

/// <summary>
/// API keys in <c>security.api_keys</c>, stored as SHA-256 hashes (see <see cref="ApiKeySecret.Hash"/>).
/// Validated keys are cached for <see cref="PlatformSecurityOptions.KeyCacheDuration"/> so that a request
/// does not cost a query; a revocation evicts the key here at once and reaches other processes when
/// their entry expires.
/// </summary>
public sealed class ApiKeyStore
{
    /// <summary>The key id prefix of keys imported by hash; such ids never clash with a secret's own id (base64url has no ':').</summary>
    public const string HashKeyIdPrefix = "sha256:";

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly TimeSpan _cacheDuration;
    private readonly ConcurrentDictionary<string, CachedKey> _cache = new(StringComparer.Ordinal);

    public ApiKeyStore(NpgsqlDataSource dataSource, IOptions<PlatformSecurityOptions> options, TimeProvider time)
    {
        _dataSource = dataSource;
        _time = time;
        _cacheDuration = options.Value.KeyCacheDuration;
    }

    public async Task<CreatedApiKey> CreateAsync(string scope, string name, CancellationToken cancellationToken = default)
    {
        ValidateScopeAndName(scope, name);
        while (true)
        {
            var secret = ApiKeySecret.Generate();
            var keyId = ApiKeySecret.KeyIdOf(secret)!;
            await using var command = _dataSource.CreateCommand(
                "INSERT INTO security.api_keys (key_id, hash, scope, name) VALUES ($1, $2, $3, $4)");
            command.Parameters.Add(new NpgsqlParameter { Value = keyId });
            command.Parameters.Add(new NpgsqlParameter { Value = ApiKeySecret.Hash(secret) });
            command.Parameters.Add(new NpgsqlParameter { Value = scope });
            command.Parameters.Add(new NpgsqlParameter { Value = name });
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
                return new CreatedApiKey(keyId, secret);
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                // A key id collision (one in 2^72 per pair): draw another secret.
            }
        }
    }

    /// <summary>
    /// Creates a key of <paramref name="scope"/> only when no active key of that scope exists, so that a fresh
    /// installation gets its first admin key exactly once; null when one already exists.
    /// </summary>
    public async Task<CreatedApiKey?> CreateFirstAsync(string scope, string name, CancellationToken cancellationToken = default)
    {
        ValidateScopeAndName(scope, name);
        var secret = ApiKeySecret.Generate();
        var keyId = ApiKeySecret.KeyIdOf(secret)!;
        await using var command = _dataSource.CreateCommand(
            """
            INSERT INTO security.api_keys (key_id, hash, scope, name)
            SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM security.api_keys WHERE scope = $3 AND revoked_at IS NULL)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = keyId });
        command.Parameters.Add(new NpgsqlParameter { Value = ApiKeySecret.Hash(secret) });
        command.Parameters.Add(new NpgsqlParameter { Value = scope });
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1 ? new CreatedApiKey(keyId, secret) : null;
    }

    /// <summary>
    /// Stores a key that comes from configuration (for example <c>DS_ADMIN_KEY</c>). Importing the same
    /// secret again updates its scope and name, so the configuration stays the authority.
    /// </summary>
    public async Task<ImportedApiKey> ImportAsync(string secret, string scope, string name, CancellationToken cancellationToken = default)
    {
        if (!ApiKeySecret.IsWellFormed(secret))
        {
            throw new ArgumentException($"The key to import is not an API key: expected {ApiKeySecret.Rule}.", nameof(secret));
        }

        ValidateScopeAndName(scope, name);
        var keyId = ApiKeySecret.KeyIdOf(secret)!;
        await using var command = _dataSource.CreateCommand(
            """
            INSERT INTO security.api_keys AS existing (key_id, hash, scope, name) VALUES ($1, $2, $3, $4)
            ON CONFLICT (key_id) DO UPDATE SET scope = EXCLUDED.scope, name = EXCLUDED.name
                WHERE existing.hash = EXCLUDED.hash
            RETURNING revoked_at IS NOT NULL
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = keyId });
        command.Parameters.Add(new NpgsqlParameter { Value = ApiKeySecret.Hash(secret) });
        command.Parameters.Add(new NpgsqlParameter { Value = scope });
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        var revoked = await command.ExecuteScalarAsync(cancellationToken);
        _cache.TryRemove(keyId, out _);
        return revoked is bool isRevoked
            ? new ImportedApiKey(keyId, isRevoked)
            : throw new InvalidOperationException($"A different key with id {keyId} is already stored; generate a new secret.");
    }

    /// <summary>
    /// Stores an EA key known only by its SHA-256 (an <see cref="Accounts.AccountConfiguration"/> pushed by the
    /// operator) with scope <c>ea:&lt;account&gt;</c>, and revokes the account's other EA keys: an account has one
    /// key, and pushing a new hash rotates it. Its key id is <c>sha256:</c> and the hash's first hex digits, since
    /// the secret it would come from is unknown. Importing the same hash again changes nothing; a key once revoked
    /// stays revoked, and importing it again leaves the account's current key alone.
    /// </summary>
    public async Task<ImportedApiKey> ImportEaKeyHashAsync(string account, string sha256Hex, CancellationToken cancellationToken = default)
    {
        var scope = Scopes.ForAccount(account);
        byte[] hash;
        try
        {
            hash = Convert.FromHexString(sha256Hex);
        }
        catch (FormatException)
        {
            throw new ArgumentException("The key hash is not hex.", nameof(sha256Hex));
        }

        if (hash.Length != 32)
        {
            throw new ArgumentException("The key hash is not a SHA-256 (64 hex digits).", nameof(sha256Hex));
        }

        var keyId = HashKeyIdPrefix + Convert.ToHexStringLower(hash)[..ApiKeySecret.KeyIdLength];
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO security.api_keys AS existing (key_id, hash, scope, name) VALUES ($1, $2, $3, $4)
            ON CONFLICT (key_id) DO UPDATE SET scope = EXCLUDED.scope
                WHERE existing.hash = EXCLUDED.hash
            RETURNING revoked_at IS NOT NULL
            """,
            connection,
            transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = keyId });
        command.Parameters.Add(new NpgsqlParameter { Value = hash });
        command.Parameters.Add(new NpgsqlParameter { Value = scope });
        command.Parameters.Add(new NpgsqlParameter { Value = $"EA key of account {account}" });
        if (await command.ExecuteScalarAsync(cancellationToken) is not bool revoked)
        {
            throw new InvalidOperationException($"A different key with id {keyId} is already stored; generate a new secret.");
        }

        // A revoked key pushed again must not lock out the account's current key.
        await using var revokeOthers = new NpgsqlCommand(
            "UPDATE security.api_keys SET revoked_at = now() WHERE scope = $1 AND key_id <> $2 AND revoked_at IS NULL AND NOT $3 RETURNING key_id",
            connection,
            transaction);
        revokeOthers.Parameters.Add(new NpgsqlParameter { Value = scope });
        revokeOthers.Parameters.Add(new NpgsqlParameter { Value = keyId });
        revokeOthers.Parameters.Add(new NpgsqlParameter { Value = revoked });
        var replaced = new HashSet<string>(StringComparer.Ordinal);
        await using (var reader = await revokeOthers.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                replaced.Add(reader.GetString(0));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        foreach (var replacedId in replaced.Append(keyId))
        {
            EvictIdentity(replacedId);
        }

        return new ImportedApiKey(keyId, revoked);
    }

    /// <summary>The cache is keyed by the presented secret's id, which is not a hash-imported key's id: evict by identity too.</summary>
    private void EvictIdentity(string keyId)
    {
        foreach (var (cachedId, cached) in _cache)
        {
            if (cached.Identity.KeyId == keyId)
            {
                _cache.TryRemove(cachedId, out _);
            }
        }
    }

    /// <summary>Revokes a key for good. False when no active key has that id.</summary>
    public async Task<bool> RevokeAsync(string keyId, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand(
            "UPDATE security.api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL");
        command.Parameters.Add(new NpgsqlParameter { Value = keyId });
        var revoked = await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        _cache.TryRemove(keyId, out _);
        EvictIdentity(keyId);
        return revoked;
    }

    /// <summary>The identity behind a presented secret, or null when it is malformed, unknown or revoked.</summary>
    public async Task<ApiKeyIdentity?> ValidateAsync(string? secret, CancellationToken cancellationToken = default)
    {
        var keyId = ApiKeySecret.KeyIdOf(secret);
        if (keyId is null)
        {
            return null;
        }

        var now = _time.GetUtcNow();
        if (!_cache.TryGetValue(keyId, out var stored) || stored.ExpiresAt <= now)
        {
            stored = await LoadActiveAsync(keyId, ApiKeySecret.Hash(secret!), now, cancellationToken);
            if (stored is null)
            {
                _cache.TryRemove(keyId, out _);
                return null;
            }

            _cache[keyId] = stored;
        }

        return CryptographicOperations.FixedTimeEquals(ApiKeySecret.Hash(secret!), stored.Hash) ? stored.Identity : null;
    }

    /// <summary>The active key with this id, or else one imported by its hash (<see cref="ImportEaKeyHashAsync"/>).</summary>
    private async Task<CachedKey?> LoadActiveAsync(string keyId, byte[] hash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            """
            SELECT hash, scope, name, key_id FROM security.api_keys
            WHERE (key_id = $1 OR (hash = $2 AND key_id LIKE 'sha256:%')) AND revoked_at IS NULL
            ORDER BY key_id = $1 DESC LIMIT 1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = keyId });
        command.Parameters.Add(new NpgsqlParameter { Value = hash });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var identity = new ApiKeyIdentity(reader.GetString(3), reader.GetString(1), reader.GetString(2));
        return new CachedKey(reader.GetFieldValue<byte[]>(0), identity, now + _cacheDuration);
    }

    private static void ValidateScopeAndName(string scope, string name)
    {
        if (!Scopes.IsValid(scope))
        {
            throw new ArgumentException($"The scope '{scope}' is not valid: use {Scopes.Rule}.", nameof(scope));
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("A key needs a name that says who or what holds it.", nameof(name));
        }
    }

    private sealed record CachedKey(byte[] Hash, ApiKeyIdentity Identity, DateTimeOffset ExpiresAt);
}
