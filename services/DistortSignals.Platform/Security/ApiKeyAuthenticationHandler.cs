using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DistortSignals.Platform.Security;

/// <summary>
/// The <c>ApiKey</c> scheme: a key in the <c>X-API-Key</c> header, or, on a WebSocket upgrade of
/// <c>/ws</c> only, a token from <see cref="WebSocketTokens"/> in <c>?token=</c>. Logs name the key id,
/// never the secret. Missing or refused credentials are answered 401 with a problem saying which.
/// </summary>
public sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ApiKeyStore store,
    WebSocketTokens tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";

    public const string HeaderName = "X-API-Key";

    public const string WebSocketPath = "/ws";

    public const string TokenParameter = "token";

    private const string MissingDetail =
        "This endpoint needs an API key in the X-API-Key header (browsers opening /ws may pass ?token= from POST /api/v1/ws-tokens instead).";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Request.Headers.TryGetValue(HeaderName, out var header))
        {
            return await AuthenticateKeyAsync(header.ToString());
        }

        if (IsWebSocketUpgrade() && Request.Query.TryGetValue(TokenParameter, out var token))
        {
            return AuthenticateToken(token.ToString());
        }

        return AuthenticateResult.NoResult();
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.Headers.WWWAuthenticate = SchemeName;
        await Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, result.Failure?.Message ?? MissingDetail);
    }

    private async Task<AuthenticateResult> AuthenticateKeyAsync(string secret)
    {
        var keyId = ApiKeySecret.KeyIdOf(secret);
        if (keyId is null)
        {
            LogMalformedKey(Logger, Request.Path);
            return AuthenticateResult.Fail($"The X-API-Key header does not hold an API key: expected {ApiKeySecret.Rule}.");
        }

        var key = await store.ValidateAsync(secret, Context.RequestAborted);
        if (key is null)
        {
            LogRefusedKey(Logger, keyId, Request.Path);
            return AuthenticateResult.Fail($"The API key {keyId} is unknown or revoked.");
        }

        LogAuthenticated(Logger, key.KeyId, key.Scope);
        return Success(key);
    }

    private AuthenticateResult AuthenticateToken(string token)
    {
        if (!tokens.TryRedeem(token, out var key, out var failure))
        {
            LogRefusedToken(Logger, failure);
            return AuthenticateResult.Fail(failure);
        }

        LogAuthenticated(Logger, key.KeyId, key.Scope);
        return Success(key);
    }

    private bool IsWebSocketUpgrade() =>
        Request.Path.Equals(WebSocketPath)
        && (Context.WebSockets.IsWebSocketRequest
            || string.Equals(Request.Headers.Upgrade.ToString(), "websocket", StringComparison.OrdinalIgnoreCase));

    private static AuthenticateResult Success(ApiKeyIdentity key) =>
        AuthenticateResult.Success(new AuthenticationTicket(ApiKeyClaims.CreatePrincipal(key), SchemeName));

    [LoggerMessage(Level = LogLevel.Debug, Message = "Authenticated API key {KeyId} with scope {Scope}")]
    private static partial void LogAuthenticated(ILogger logger, string keyId, string scope);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused API key {KeyId} on {Path}: unknown or revoked")]
    private static partial void LogRefusedKey(ILogger logger, string keyId, PathString path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a malformed X-API-Key header on {Path}")]
    private static partial void LogMalformedKey(ILogger logger, PathString path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a WebSocket token: {Reason}")]
    private static partial void LogRefusedToken(ILogger logger, string reason);
}
