using DistortSignals.Platform.Resources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DistortSignals.Platform.Accounts;

/// <summary>
/// The one-process host's stand-in for the operator: at start it hands every BrokerAccount it loaded, with its
/// key's hash, to the modules' <see cref="IAccountConfigurationSink"/>s. Register it after the modules so that
/// their migrations (hosted services too, which start in order) have run.
/// </summary>
public sealed class LoadedAccountsPush(ResourceSet resources, IEnumerable<IAccountConfigurationSink> sinks) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var account in resources.BrokerAccounts)
        {
            var key = resources.EaKeyOf(account);
            var configuration = new AccountConfiguration(account.Name, account.Spec, key is null ? null : AccountConfigurationEndpoints.Sha256Hex(key));
            foreach (var sink in sinks)
            {
                await sink.ApplyAsync(configuration, cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class LoadedAccountsPushServiceCollectionExtensions
{
    public static IServiceCollection AddLoadedAccountsPush(this IServiceCollection services) =>
        services.AddHostedService<LoadedAccountsPush>();
}
