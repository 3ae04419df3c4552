using DistortSignals.Platform.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DistortSignals.Host.Run;

/// <summary>
/// The admin key line of the start-up banner. A key from DS_ADMIN_KEY is imported by the security layer;
/// otherwise the first start generates one, stores only its hash and shows the secret this once.
/// </summary>
internal static class AdminKey
{
    public static async Task<string> EnsureAsync(IServiceProvider services, IConfiguration configuration, CancellationToken cancellationToken)
    {
        if (configuration[PlatformSecurityOptions.AdminKeySetting] is { Length: > 0 } configured)
        {
            return $"admin key  from {PlatformSecurityOptions.AdminKeySetting} (key id {ApiKeySecret.KeyIdOf(configured)})";
        }

        var created = await services.GetRequiredService<ApiKeyStore>().CreateFirstAsync(Scopes.Admin, "generated at first start", cancellationToken);
        return created is null
            ? $"admin key  was shown at the first start (set {PlatformSecurityOptions.AdminKeySetting} to use a key of your own)"
            : $"admin key  {created.Secret}   <- shown once; only its hash is stored";
    }
}
