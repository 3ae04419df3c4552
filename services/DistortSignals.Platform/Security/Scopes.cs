using DistortSignals.Core.Validation;

namespace DistortSignals.Platform.Security;

/// <summary>
/// What a key may do. The scope names double as the names of the authorization policies:
/// <c>group.RequireAuthorization(Scopes.Reader)</c>. <see cref="Admin"/> passes every policy except
/// <see cref="Ea"/>: only an <c>ea:&lt;account&gt;</c> key speaks for an account, so an operator cannot
/// claim, fill or heartbeat on behalf of a terminal by accident or by a leaked admin key.
/// </summary>
public static class Scopes
{
    public const string Admin = "admin";

    public const string Reader = "reader";

    public const string Ingest = "ingest";

    /// <summary>The policy for the MT5 EA's endpoints; the account comes from the key (<c>HttpContext.GetEaAccount()</c>).</summary>
    public const string Ea = "ea";

    public const string EaPrefix = "ea:";

    /// <summary>The scope of the EA key for <paramref name="account"/>, a BrokerAccount name.</summary>
    public static string ForAccount(string account) =>
        IsValidAccount(account)
            ? EaPrefix + account
            : throw new ArgumentException($"The account '{account}' is not a BrokerAccount name: {ResourceName.Rule()}.", nameof(account));

    public static bool IsValid(string? scope) =>
        scope is Admin or Reader or Ingest || EaAccountOf(scope) is not null;

    /// <summary>Explains what a valid scope looks like, for error messages.</summary>
    public static string Rule => $"admin, reader, ingest or ea:<account> where the account is {ResourceName.Rule()}";

    /// <summary>The account of an <c>ea:&lt;account&gt;</c> scope, or null for any other scope.</summary>
    public static string? EaAccountOf(string? scope) =>
        scope is not null && scope.StartsWith(EaPrefix, StringComparison.Ordinal) && IsValidAccount(scope[EaPrefix.Length..])
            ? scope[EaPrefix.Length..]
            : null;

    /// <summary>Whether a key with scope <paramref name="granted"/> passes a check for reader, ingest or admin.</summary>
    public static bool Satisfies(string granted, string required) =>
        granted == required || (granted == Admin && required is Reader or Ingest);

    private static bool IsValidAccount(string account) => ResourceName.IsValid(account);
}
