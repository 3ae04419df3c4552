using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DistortSignals.Platform.Tests.Security;

public sealed class ApiKeyStoreTests : IAsyncLifetime
{
    private readonly ManualClock _clock = new();
    private NpgsqlDataSource _dataSource = null!;
    private ApiKeyStore _keys = null!;

    public async Task InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(await TestPostgres.CreateDatabaseAsync());
        await MigrationRunner.RunAsync(_dataSource, SecurityMigrations.Schema, SecurityMigrations.All, default);
        _keys = new ApiKeyStore(_dataSource, Options.Create(new PlatformSecurityOptions()), _clock);
    }

    public Task DisposeAsync() => _dataSource.DisposeAsync().AsTask();

    [Fact]
    public async Task Migrating_again_and_concurrently_keeps_the_keys()
    {
        var created = await _keys.CreateAsync(Scopes.Reader, "survivor");

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => MigrationRunner.RunAsync(_dataSource, SecurityMigrations.Schema, SecurityMigrations.All, default)));

        Assert.NotNull(await _keys.ValidateAsync(created.Secret));
    }

    [Fact]
    public async Task Keys_of_a_host_from_before_the_migrations_move_with_their_table()
    {
        await using var old = NpgsqlDataSource.Create(await TestPostgres.CreateDatabaseAsync());
        await using (var create = old.CreateCommand("""
            CREATE SCHEMA platform;
            CREATE TABLE platform.api_keys (
                key_id text PRIMARY KEY, hash bytea NOT NULL CHECK (octet_length(hash) = 32), scope text NOT NULL,
                name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), revoked_at timestamptz)
            """))
        {
            await create.ExecuteNonQueryAsync();
        }

        var secret = ApiKeySecret.Generate();
        await using (var insert = old.CreateCommand("INSERT INTO platform.api_keys (key_id, hash, scope, name) VALUES ($1, $2, 'admin', 'old admin')"))
        {
            insert.Parameters.Add(new() { Value = ApiKeySecret.KeyIdOf(secret) });
            insert.Parameters.Add(new() { Value = ApiKeySecret.Hash(secret) });
            await insert.ExecuteNonQueryAsync();
        }

        await MigrationRunner.RunAsync(old, SecurityMigrations.Schema, SecurityMigrations.All, default);

        var keys = new ApiKeyStore(old, Options.Create(new PlatformSecurityOptions()), _clock);
        Assert.Equal("old admin", (await keys.ValidateAsync(secret))?.Name);
    }

    [Fact]
    public async Task A_created_key_is_shown_once_and_validates_to_its_scope_and_name()
    {
        var created = await _keys.CreateAsync(Scopes.ForAccount("ftmo-demo-1"), "EA on the Wine host");

        Assert.Matches("^ds_[A-Za-z0-9_-]{43}$", created.Secret);
        Assert.Equal(created.Secret.Substring(3, ApiKeySecret.KeyIdLength), created.KeyId);
        Assert.Equal(new ApiKeyIdentity(created.KeyId, "ea:ftmo-demo-1", "EA on the Wine host"), await _keys.ValidateAsync(created.Secret));
    }

    [Fact]
    public async Task The_first_admin_key_is_made_once_and_again_only_after_it_was_revoked()
    {
        var first = await _keys.CreateFirstAsync(Scopes.Admin, "generated at first start");
        var second = await _keys.CreateFirstAsync(Scopes.Admin, "generated at first start");

        Assert.NotNull(first);
        Assert.Null(second);
        Assert.Equal(Scopes.Admin, (await _keys.ValidateAsync(first.Secret))?.Scope);

        Assert.True(await _keys.RevokeAsync(first.KeyId));
        var replacement = await _keys.CreateFirstAsync(Scopes.Admin, "generated at first start");
        Assert.NotNull(replacement);
        Assert.NotEqual(first.Secret, replacement.Secret);
    }

    [Fact]
    public async Task The_stored_row_holds_the_hash_and_never_the_secret()
    {
        var created = await _keys.CreateAsync(Scopes.Reader, "dashboard");

        await using var command = _dataSource.CreateCommand("SELECT * FROM security.api_keys WHERE key_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = created.KeyId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        var columns = Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, reader.GetValue);
        Assert.Equal(new[] { "key_id", "hash", "scope", "name", "created_at", "revoked_at" }, columns.Keys.ToArray());
        Assert.Equal(ApiKeySecret.Hash(created.Secret), (byte[])columns["hash"]);
        var secretPart = created.Secret[(3 + ApiKeySecret.KeyIdLength)..];
        Assert.DoesNotContain(columns.Values, value => value.ToString()!.Contains(secretPart, StringComparison.Ordinal));
        Assert.DoesNotContain(columns.Values, value => value is byte[] bytes && System.Text.Encoding.UTF8.GetString(bytes).Contains(secretPart, StringComparison.Ordinal));
        Assert.Equal(DBNull.Value, columns["revoked_at"]);
    }

    [Fact]
    public async Task Importing_a_configured_key_twice_keeps_one_row_and_takes_the_latest_scope()
    {
        var secret = ApiKeySecret.Generate();

        var first = await _keys.ImportAsync(secret, Scopes.Reader, "DS_ADMIN_KEY");
        var second = await _keys.ImportAsync(secret, Scopes.Admin, "DS_ADMIN_KEY");

        Assert.Equal(first, second);
        Assert.False(second.Revoked);
        Assert.Equal(Scopes.Admin, (await _keys.ValidateAsync(secret))?.Scope);
        await using var count = _dataSource.CreateCommand("SELECT count(*) FROM security.api_keys WHERE key_id = $1");
        count.Parameters.Add(new NpgsqlParameter { Value = first.KeyId });
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task An_ea_key_imported_by_hash_validates_and_replaces_the_accounts_older_key()
    {
        var older = ApiKeySecret.Generate();
        var newer = ApiKeySecret.Generate();
        var first = await _keys.ImportEaKeyHashAsync("paper-main", Convert.ToHexStringLower(ApiKeySecret.Hash(older)));
        Assert.Equal(Scopes.ForAccount("paper-main"), (await _keys.ValidateAsync(older))?.Scope);
        Assert.Equal(first.KeyId, (await _keys.ValidateAsync(older))?.KeyId);

        var again = await _keys.ImportEaKeyHashAsync("paper-main", Convert.ToHexStringLower(ApiKeySecret.Hash(older)));
        Assert.Equal(first, again);
        var other = await _keys.CreateAsync(Scopes.ForAccount("mt5-demo"), "another account's EA");

        await _keys.ImportEaKeyHashAsync("paper-main", Convert.ToHexStringLower(ApiKeySecret.Hash(newer)));
        Assert.Null(await _keys.ValidateAsync(older));
        Assert.Equal(Scopes.ForAccount("paper-main"), (await _keys.ValidateAsync(newer))?.Scope);
        Assert.NotNull(await _keys.ValidateAsync(other.Secret));
        Assert.True((await _keys.ImportEaKeyHashAsync("paper-main", Convert.ToHexStringLower(ApiKeySecret.Hash(older)))).Revoked);
        Assert.NotNull(await _keys.ValidateAsync(newer));
        Assert.Throws<ArgumentException>(() => _keys.ImportEaKeyHashAsync("paper-main", "abc").GetAwaiter().GetResult());
    }

    [Fact]
    public async Task A_revoked_key_stays_revoked_when_imported_again()
    {
        var secret = ApiKeySecret.Generate();
        var imported = await _keys.ImportAsync(secret, Scopes.Admin, "DS_ADMIN_KEY");
        Assert.True(await _keys.RevokeAsync(imported.KeyId));

        var again = await _keys.ImportAsync(secret, Scopes.Admin, "DS_ADMIN_KEY");

        Assert.True(again.Revoked);
        Assert.Null(await _keys.ValidateAsync(secret));
        Assert.False(await _keys.RevokeAsync(imported.KeyId));
    }

    [Fact]
    public async Task A_cached_key_is_trusted_until_its_entry_expires_when_revoked_elsewhere()
    {
        var created = await _keys.CreateAsync(Scopes.Reader, "cached");
        Assert.NotNull(await _keys.ValidateAsync(created.Secret));
        await using (var revokeElsewhere = _dataSource.CreateCommand("UPDATE security.api_keys SET revoked_at = now() WHERE key_id = $1"))
        {
            revokeElsewhere.Parameters.Add(new NpgsqlParameter { Value = created.KeyId });
            await revokeElsewhere.ExecuteNonQueryAsync();
        }

        Assert.NotNull(await _keys.ValidateAsync(created.Secret));
        _clock.Advance(new PlatformSecurityOptions().KeyCacheDuration);
        Assert.Null(await _keys.ValidateAsync(created.Secret));
    }

    [Theory]
    [InlineData("root")]
    [InlineData("ea:")]
    [InlineData("ea:Upper")]
    [InlineData("Admin")]
    [InlineData("ea:acct a")]
    public async Task An_invalid_scope_is_refused(string scope)
    {
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => _keys.CreateAsync(scope, "bad"));

        Assert.Contains($"The scope '{scope}' is not valid", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Importing_text_that_is_not_a_key_is_refused_without_echoing_it()
    {
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => _keys.ImportAsync("my-password-123", Scopes.Admin, "weak"));

        Assert.DoesNotContain("my-password-123", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_and_missing_secrets_do_not_validate()
    {
        Assert.Null(await _keys.ValidateAsync(null));
        Assert.Null(await _keys.ValidateAsync("ds_short"));
        Assert.Null(await _keys.ValidateAsync("xx_" + ApiKeySecret.Generate()[3..]));
    }
}
