using System.Text.RegularExpressions;

namespace DistortSignals.Platform.Postgres;

/// <summary>
/// Schema and channel names are spliced into SQL text (they cannot be parameters), so they are limited to
/// plain lower-case identifiers that need no quoting.
/// </summary>
public static partial class PostgresIdentifier
{
    public static string Require(string name, string what) =>
        PlainIdentifier().IsMatch(name)
            ? name
            : throw new ArgumentException($"{what} '{name}' is not a plain PostgreSQL identifier ([a-z_][a-z0-9_]*, at most 63 characters)", what);

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex PlainIdentifier();
}
