using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace DistortSignals.Platform.Security;

/// <summary>A token for one WebSocket connection, returned by <c>POST /api/v1/ws-tokens</c>.</summary>
public sealed record WebSocketToken(string Token, DateTimeOffset ExpiresAt);

/// <summary>
/// Short-lived tokens that let a browser open <c>/ws</c> with <c>?token=</c>, since browsers cannot set
/// headers on a WebSocket. A token is the key's identity and an expiry, HMAC-SHA256-signed with a key
/// drawn when the process starts, so it is only good on the process that issued it and dies with it.
/// Tokens are single use: they travel in URLs, which proxies and access logs record, and a token
/// replayed from a log must not open a second connection.
/// </summary>
public sealed class WebSocketTokens
{
    private readonly byte[] _signingKey = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _redeemed = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;

    public WebSocketTokens(IOptions<PlatformSecurityOptions> options, TimeProvider time)
    {
        _time = time;
        _lifetime = options.Value.WebSocketTokenLifetime;
    }

    public WebSocketToken Issue(ApiKeyIdentity key)
    {
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds((_time.GetUtcNow() + _lifetime).ToUnixTimeSeconds());
        var claims = new TokenClaims(key.KeyId, key.Scope, key.Name, expiresAt.ToUnixTimeSeconds(), Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
        var payload = JsonSerializer.SerializeToUtf8Bytes(claims);
        var token = Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(HMACSHA256.HashData(_signingKey, payload));
        return new WebSocketToken(token, expiresAt);
    }

    /// <summary>Checks a token and marks it used. On failure, <paramref name="failure"/> says why.</summary>
    public bool TryRedeem(string token, [NotNullWhen(true)] out ApiKeyIdentity? key, [NotNullWhen(false)] out string? failure)
    {
        key = null;
        if (!TryReadSigned(token, out var claims, out failure))
        {
            return false;
        }

        var now = _time.GetUtcNow();
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt);
        if (expiresAt <= now)
        {
            failure = $"The WebSocket token expired at {expiresAt:O}; ask POST /api/v1/ws-tokens for a new one.";
            return false;
        }

        ForgetExpired(now);
        if (!_redeemed.TryAdd(claims.Nonce, expiresAt))
        {
            failure = "The WebSocket token was already used; ask POST /api/v1/ws-tokens for a new one per connection.";
            return false;
        }

        key = new ApiKeyIdentity(claims.KeyId, claims.Scope, claims.Name);
        return true;
    }

    private bool TryReadSigned(string token, [NotNullWhen(true)] out TokenClaims? claims, [NotNullWhen(false)] out string? failure)
    {
        claims = null;
        var parts = token.Split('.');
        if (parts.Length != 2 || !Base64Url.IsValid(parts[0]) || !Base64Url.IsValid(parts[1]))
        {
            failure = "The WebSocket token is malformed.";
            return false;
        }

        var payload = Base64Url.DecodeFromChars(parts[0]);
        if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(_signingKey, payload), Base64Url.DecodeFromChars(parts[1])))
        {
            failure = "The WebSocket token's signature does not match: it was altered, or issued by another process.";
            return false;
        }

        // Only this process could have signed the payload, so it is one of our own claim sets.
        claims = JsonSerializer.Deserialize<TokenClaims>(payload)!;
        failure = null;
        return true;
    }

    // A used token only needs remembering until it would have expired anyway.
    private void ForgetExpired(DateTimeOffset now)
    {
        foreach (var (nonce, expiresAt) in _redeemed)
        {
            if (expiresAt <= now)
            {
                _redeemed.TryRemove(nonce, out _);
            }
        }
    }

    private sealed record TokenClaims(string KeyId, string Scope, string Name, long ExpiresAt, string Nonce);
}
