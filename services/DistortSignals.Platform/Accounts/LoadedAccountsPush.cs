using DistortSignals.Platform.Resources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Platform.Accounts;

/// <summary>
/// The one-process host's stand-in for the operator: it hands every BrokerAccount it loaded, with its key's hash,
/// to the modules' <see cref="IAccountConfigurationSink"/>s. Registered after the modules, so their migrations
/// (hosted services too, which start in order) have run. The first attempt is made before the server takes
/// requests; on Dapr the sidecar cannot place the risk role's actors until the app answers <c>/dapr/config</c>,
/// so a failed attempt is repeated with backoff once the application has started.
/// </summary>
public sealed partial class LoadedAccountsPush(
    ResourceSet resources,
    IEnumerable<IAccountConfigurationSink> sinks,
    IHostApplicationLifetime lifetime,
    ILogger<LoadedAccountsPush> logger) : IHostedService, IDisposable
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _stopping = new();
    private Task _retries = Task.CompletedTask;

    /// <summary>Completes when every loaded account reached every sink.</summary>
    public TaskCompletionSource Pushed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PushAsync(cancellationToken);
            Pushed.TrySetResult();
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            LogRetrying(logger, error);
            _retries = RetryAfterStartAsync(_stopping.Token);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _retries.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task PushAsync(CancellationToken cancellationToken)
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

    private async Task RetryAfterStartAsync(CancellationToken stopping)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var onStarted = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        var delay = TimeSpan.FromMilliseconds(200);
        try
        {
            await started.Task.WaitAsync(stopping);
            while (true)
            {
                try
                {
                    await PushAsync(stopping);
                    Pushed.TrySetResult();
                    LogPushed(logger, resources.BrokerAccounts.Count);
                    return;
                }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    LogRetrying(logger, error);
                }

                await Task.Delay(delay, stopping);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handing the loaded accounts to the modules failed; trying again once the application runs")]
    private static partial void LogRetrying(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Handed {Count} loaded accounts to the modules")]
    private static partial void LogPushed(ILogger logger, int count);
}

public static class LoadedAccountsPushServiceCollectionExtensions
{
    public static IServiceCollection AddLoadedAccountsPush(this IServiceCollection services)
    {
        services.AddSingleton<LoadedAccountsPush>();
        return services.AddHostedService(provider => provider.GetRequiredService<LoadedAccountsPush>());
    }
}
