using System.Diagnostics;

namespace DistortSignals.Testing;

/// <summary>Waits for a condition of the background loops, polling, and fails with what was awaited on timeout.</summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    public static async Task UntilAsync(string what, Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > (timeout ?? DefaultTimeout))
            {
                throw new TimeoutException($"timed out after {clock.Elapsed.TotalSeconds:0.#} s waiting until {what}");
            }

            await Task.Delay(10);
        }
    }

    public static Task UntilAsync(string what, Func<bool> condition, TimeSpan? timeout = null) =>
        UntilAsync(what, () => Task.FromResult(condition()), timeout);
}
