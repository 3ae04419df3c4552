using DistortSignals.Platform.Tests.InProcess;
using DistortSignals.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace DistortSignals.Platform.Tests.Conformance;

/// <summary>The conformance suite on the in-process platform over the real test PostgreSQL.</summary>
public sealed class InProcessConformanceTests : PlatformConformanceTests
{
    private protected override async Task<IPlatformUnderTest> StartAsync(Action<IServiceCollection> configure)
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync();
        return new Running(configure, connectionString, await TestPlatform.StartAsync(configure, Options, connectionString));
    }

    private static void Options(Platform.InProcess.InProcessPlatformOptions options) => options.MaxAttempts = 4;

    private sealed class Running(Action<IServiceCollection> configure, string connectionString, TestPlatform platform) : IPlatformUnderTest
    {
        private TestPlatform _platform = platform;

        public IServiceProvider Services => _platform.Services;

        public async Task RestartAsync()
        {
            await _platform.DisposeAsync();
            _platform = await TestPlatform.StartAsync(configure, Options, connectionString);
        }

        public ValueTask DisposeAsync() => _platform.DisposeAsync();
    }
}
