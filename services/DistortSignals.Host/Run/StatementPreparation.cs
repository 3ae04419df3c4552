using System.Data.Common;
using Npgsql;

namespace DistortSignals.Host.Run;

/// <summary>
/// Turns on Npgsql's automatic preparation for the host's connections: every hot statement is repeated thousands of
/// times, and planning was 38 to 47% of PostgreSQL's statement time (docs/performance.md). A connection string that
/// names either setting keeps its own value, so <c>Max Auto Prepare=0</c> turns it off (for a pooler in transaction
/// mode that does not track prepared statements).
/// </summary>
internal static class StatementPreparation
{
    /// <summary>Prepared statements kept per physical connection; the host has a few dozen distinct hot statements.</summary>
    public const int MaxAutoPrepare = 64;

    /// <summary>A statement is prepared on its second use, so one-off statements (migrations, queries) are not.</summary>
    public const int AutoPrepareMinUsages = 2;

    public static string Apply(string connectionString)
    {
        // The generic builder keeps only the keys the string names; Npgsql's own answers every key with its default.
        var named = new DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>()
            .Select(key => key.Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant())
            .ToHashSet(StringComparer.Ordinal);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!named.Contains("maxautoprepare"))
        {
            builder.MaxAutoPrepare = MaxAutoPrepare;
        }

        if (!named.Contains("autoprepareminusages"))
        {
            builder.AutoPrepareMinUsages = AutoPrepareMinUsages;
        }

        return builder.ConnectionString;
    }
}
