using System.Security.Cryptography;
using System.Text;

namespace DistortSignals.Platform.Postgres.Migrations;

/// <summary>
/// One versioned change of a schema, applied once at start-up by <see cref="MigrationRunner"/>.
/// The rule that keeps data safe: migrations are only additive (new tables, new nullable or defaulted
/// columns, new indexes), an applied migration is never edited (its checksum is checked), and any change to
/// existing data or columns is a new migration that carries the data over in the same transaction.
/// Unqualified names in <see cref="Sql"/> resolve to the migration's schema (the runner sets the search path).
/// </summary>
public sealed record Migration(int Version, string Name, string Sql)
{
    /// <summary>SHA-256 of the SQL, hex; line endings are normalised so a Windows checkout does not count as an edit.</summary>
    public string Checksum => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql.ReplaceLineEndings("\n"))));
}

/// <summary>The migrations of one schema; registered in DI, they are applied by <see cref="SchemaMigrator"/> at start-up.</summary>
public sealed record SchemaMigrations(string Schema, IReadOnlyList<Migration> Migrations);

/// <summary>A migration history that this code cannot apply safely; the message names the schema, version and migration.</summary>
public sealed class MigrationException(string message, Exception? innerException = null) : Exception(message, innerException);
