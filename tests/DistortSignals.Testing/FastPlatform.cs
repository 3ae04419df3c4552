using DistortSignals.Platform.InProcess;

namespace DistortSignals.Testing;

/// <summary>The in-process platform's timings for tests: loops look every 50 ms and retries back off from 20 ms to 200 ms, so a test waits for work, not for defaults meant for a host.</summary>
public static class FastPlatform
{
    public static void Timings(InProcessPlatformOptions options)
    {
        options.PollInterval = TimeSpan.FromMilliseconds(50);
        options.RetryBaseDelay = TimeSpan.FromMilliseconds(20);
        options.RetryMaxDelay = TimeSpan.FromMilliseconds(200);
    }
}
