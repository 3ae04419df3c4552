using DistortSignals.Platform.Postgres.Migrations;

namespace DistortSignals.Platform.Security;

/// <summary>The API key table, in schema <c>security</c>; both platforms use it.</summary>
public static class SecurityMigrations
{
    public const string Schema = "security";

    public static IReadOnlyList<Migration> All { get; } =
    [
        // Hosts before versioned migrations kept the keys in platform.api_keys: move that table, keys and all.
        new(1, "api keys", """
            DO $$
            BEGIN
                IF to_regclass('platform.api_keys') IS NOT NULL THEN
                    ALTER TABLE platform.api_keys SET SCHEMA security;
                ELSE
                    CREATE TABLE security.api_keys (
                        key_id     text PRIMARY KEY,
                        hash       bytea NOT NULL CHECK (octet_length(hash) = 32),
                        scope      text NOT NULL,
                        name       text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        revoked_at timestamptz);
                END IF;
            END $$;
            """),

        // EA keys pushed by the operator are known only by their hash (ApiKeyStore.ImportEaKeyHashAsync) and found by it.
        new(2, "api keys by hash", "CREATE INDEX api_keys_hash ON api_keys (hash);"),
    ];
}
