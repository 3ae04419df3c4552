namespace DistortSignals.Platform.InProcess;

/// <summary>
/// Wakes a background loop early: any number of <see cref="Set"/> calls while the loop works collapse into
/// one wake-up, so the loop never misses work that arrived during a round.
/// </summary>
public sealed class AsyncSignal
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Set()
    {
        try
        {
            _semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already set: the loop will wake up anyway.
        }
    }

    /// <summary>Waits for <see cref="Set"/> or the timeout, whichever comes first.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        await _semaphore.WaitAsync(timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout, cancellationToken);
}
