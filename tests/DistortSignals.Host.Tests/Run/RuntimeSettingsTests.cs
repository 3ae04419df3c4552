using System.Text.Json;

namespace DistortSignals.Host.Tests.Run;

/// <summary>
/// The runtime settings `distortsignals` starts with, read from the runtimeconfig.json that the build writes beside
/// distortsignals.dll (and copies next to these tests): docs/performance.md measures the host under them.
/// </summary>
public sealed class RuntimeSettingsTests
{
    [Fact]
    public void The_host_runs_the_server_gc_with_a_thread_pool_that_does_not_spin()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "distortsignals.runtimeconfig.json")));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.True(properties.GetProperty("System.GC.Server").GetBoolean());
        // RuntimeHostConfigurationOption writes a number when the value reads as one.
        Assert.Equal("0", properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").ToString());
    }
}
