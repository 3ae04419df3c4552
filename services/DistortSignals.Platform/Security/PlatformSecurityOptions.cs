namespace DistortSignals.Platform.Security;

/// <summary>Settings of the security layer, bound from the <c>Security</c> configuration section.</summary>
public sealed class PlatformSecurityOptions
{
    public const string Section = "Security";

    /// <summary>The configuration key (an environment variable or Secret) holding an admin key imported at start.</summary>
    public const string AdminKeySetting = "DS_ADMIN_KEY";

    /// <summary>Largest request body, in bytes, unless an endpoint declares its own <c>IRequestSizeLimitMetadata</c>.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>How long a validated key is trusted without asking the database; bounds how late a revocation in another process takes effect.</summary>
    public TimeSpan KeyCacheDuration { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan WebSocketTokenLifetime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Per key id.</summary>
    public TokenBucketSettings RateLimit { get; set; } = new() { Burst = 100, TokensPerPeriod = 50 };

    /// <summary>Per remote IP address, for requests without a valid key.</summary>
    public TokenBucketSettings AnonymousRateLimit { get; set; } = new() { Burst = 20, TokensPerPeriod = 10 };
}

/// <summary>A token bucket: up to <see cref="Burst"/> requests at once, refilled by <see cref="TokensPerPeriod"/> every <see cref="ReplenishmentPeriod"/>.</summary>
public sealed class TokenBucketSettings
{
    public int Burst { get; set; }

    public int TokensPerPeriod { get; set; }

    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);
}
