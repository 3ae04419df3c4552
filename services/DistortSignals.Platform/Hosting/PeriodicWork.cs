namespace DistortSignals.Platform.Hosting;

/// <summary>Background work that runs at once and then every interval until the host stops.</summary>
public static class PeriodicWork
{
    /// <param name="failed">
    /// Runs when one round threw: the work runs again at the next interval, so a passing database problem does
    /// not stop the role.
    /// </param>
    public static async Task RunAsync(TimeSpan interval, Func<CancellationToken, Task> work, Action<Exception> failed, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                await work(stoppingToken);
            }
            catch (Exception error) when (!stoppingToken.IsCancellationRequested)
            {
                failed(error);
            }
        }
        while (await NextTickAsync(timer, stoppingToken));
    }

    private static async Task<bool> NextTickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
