using System.Globalization;
using System.Threading.RateLimiting;
using DistortSignals.Platform.Postgres.Migrations;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DistortSignals.Platform.Security;

/// <summary>
/// How the host switches the security layer on: <c>services.AddPlatformSecurity(configuration)</c>, then
/// <c>app.UsePlatformSecurity()</c> before mapping endpoints. It needs an <c>NpgsqlDataSource</c> in the
/// container. Modules protect their groups with <c>endpoints.MapGroup("/api/v1/bars").RequireAuthorization(Scopes.Reader)</c>;
/// any endpoint without a policy still needs a valid key, and only <c>.AllowAnonymous()</c> endpoints
/// (<c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c>) do not.
/// </summary>
public static class PlatformSecurityExtensions
{
    public static IServiceCollection AddPlatformSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PlatformSecurityOptions>()
            .Bind(configuration.GetSection(PlatformSecurityOptions.Section))
            .Validate(Validate, $"The {PlatformSecurityOptions.Section} settings need positive limits, lifetimes and periods.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<WebSocketTokens>();
        services.AddSchemaMigrations(SecurityMigrations.Schema, SecurityMigrations.All);
        services.AddHostedService<ApiKeyBootstrap>();

        services.AddProblemDetails();
        services.AddExceptionHandler<PlatformExceptionHandler>();
        // Minimal APIs then throw on a body or parameter they cannot bind, so the exception handler can say why.
        services.Configure<RouteHandlerOptions>(routing => routing.ThrowOnBadRequest = true);

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(AddPolicies);
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();

        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>()
            .Configure<IOptions<PlatformSecurityOptions>>((limiter, security) => ConfigureRateLimits(limiter, security.Value));
        return services;
    }

    /// <summary>Error handling, authentication, rate limits, authorization and body limits, in that order, around routing.</summary>
    public static IApplicationBuilder UsePlatformSecurity(this IApplicationBuilder app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(StatusCodeProblems.WriteAsync);
        app.UseRouting();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseMiddleware<RequestBodyLimit>();
        return app;
    }

    private static void AddPolicies(AuthorizationOptions authorization)
    {
        AuthorizationPolicy Policy(IAuthorizationRequirement requirement) =>
            new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName)
                .RequireAuthenticatedUser()
                .AddRequirements(requirement)
                .Build();

        authorization.AddPolicy(Scopes.Admin, Policy(new ScopeRequirement(Scopes.Admin)));
        authorization.AddPolicy(Scopes.Reader, Policy(new ScopeRequirement(Scopes.Reader)));
        authorization.AddPolicy(Scopes.Ingest, Policy(new ScopeRequirement(Scopes.Ingest)));
        authorization.AddPolicy(Scopes.Ea, Policy(new EaAccountRequirement()));
        var anyKey = new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser().Build();
        authorization.DefaultPolicy = anyKey;
        authorization.FallbackPolicy = anyKey;
    }

    private static void ConfigureRateLimits(RateLimiterOptions limiter, PlatformSecurityOptions security)
    {
        limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            context.User.GetApiKeyId() is { } keyId
                ? RateLimitPartition.GetTokenBucketLimiter("key:" + keyId, _ => TokenBucket(security.RateLimit))
                : RateLimitPartition.GetTokenBucketLimiter("ip:" + context.Connection.RemoteIpAddress, _ => TokenBucket(security.AnonymousRateLimit)));
        limiter.OnRejected = (rejected, _) =>
        {
            var context = rejected.HttpContext;
            var keyId = context.User.GetApiKeyId();
            var settings = keyId is null ? security.AnonymousRateLimit : security.RateLimit;
            var who = keyId is null ? $"address {context.Connection.RemoteIpAddress}" : $"key {keyId}";
            var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : settings.ReplenishmentPeriod;
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return new ValueTask(Problems.WriteAsync(context, StatusCodes.Status429TooManyRequests,
                $"Too many requests from {who}: at most {settings.Burst} at once and {settings.TokensPerPeriod} per {settings.ReplenishmentPeriod.TotalSeconds} s; retry after {seconds} s."));
        };
    }

    private static TokenBucketRateLimiterOptions TokenBucket(TokenBucketSettings settings) => new()
    {
        TokenLimit = settings.Burst,
        TokensPerPeriod = settings.TokensPerPeriod,
        ReplenishmentPeriod = settings.ReplenishmentPeriod,
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    private static bool Validate(PlatformSecurityOptions options) =>
        options.MaxRequestBodyBytes > 0
        && options.KeyCacheDuration >= TimeSpan.Zero
        && options.WebSocketTokenLifetime > TimeSpan.Zero
        && IsValid(options.RateLimit)
        && IsValid(options.AnonymousRateLimit);

    private static bool IsValid(TokenBucketSettings settings) =>
        settings.Burst > 0 && settings.TokensPerPeriod > 0 && settings.ReplenishmentPeriod > TimeSpan.Zero;
}
