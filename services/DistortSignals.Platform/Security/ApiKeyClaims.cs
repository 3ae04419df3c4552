using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace DistortSignals.Platform.Security;

/// <summary>The claims an authenticated request carries, and how endpoints read them.</summary>
public static class ApiKeyClaims
{
    public const string Scope = "ds:scope";

    public const string KeyId = "ds:key_id";

    public static ClaimsPrincipal CreatePrincipal(ApiKeyIdentity key) =>
        new(new ClaimsIdentity(
            [new Claim(KeyId, key.KeyId), new Claim(Scope, key.Scope), new Claim(ClaimTypes.Name, key.Name)],
            ApiKeyAuthenticationHandler.SchemeName,
            ClaimTypes.Name,
            Scope));

    public static string? GetApiKeyId(this ClaimsPrincipal user) => user.FindFirstValue(KeyId);

    public static string? GetScope(this ClaimsPrincipal user) => user.FindFirstValue(Scope);

    /// <summary>
    /// The account the EA's key speaks for. Call it only behind <c>RequireAuthorization(Scopes.Ea)</c>,
    /// which guarantees an <c>ea:&lt;account&gt;</c> key.
    /// </summary>
    public static string GetEaAccount(this HttpContext context) =>
        Scopes.EaAccountOf(context.User.GetScope())
        ?? throw new InvalidOperationException("The request was not made with an EA key; protect the endpoint with RequireAuthorization(Scopes.Ea).");
}
