using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Platform.Security;

/// <summary>
/// At start, before the server takes requests and after the key table's migrations: imports the admin key
/// from <c>DS_ADMIN_KEY</c> when one is configured, so a fresh installation has a way in.
/// </summary>
internal sealed partial class ApiKeyBootstrap(
    ApiKeyStore store,
    IConfiguration configuration,
    ILogger<ApiKeyBootstrap> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var adminKey = configuration[PlatformSecurityOptions.AdminKeySetting];
        if (string.IsNullOrEmpty(adminKey))
        {
            return;
        }

        if (!ApiKeySecret.IsWellFormed(adminKey))
        {
            throw new InvalidOperationException(
                $"{PlatformSecurityOptions.AdminKeySetting} is not an API key: expected {ApiKeySecret.Rule}.");
        }

        var imported = await store.ImportAsync(adminKey, Scopes.Admin, PlatformSecurityOptions.AdminKeySetting, cancellationToken);
        if (imported.Revoked)
        {
            LogRevokedAdminKey(logger, PlatformSecurityOptions.AdminKeySetting, imported.KeyId);
        }
        else
        {
            LogImportedAdminKey(logger, PlatformSecurityOptions.AdminKeySetting, imported.KeyId);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Admin key {KeyId} from {Setting} is ready")]
    private static partial void LogImportedAdminKey(ILogger logger, string setting, string keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admin key {KeyId} from {Setting} was revoked and stays revoked; configure a new one")]
    private static partial void LogRevokedAdminKey(ILogger logger, string setting, string keyId);
}
