using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace DistortSignals.Benchmarks;

/// <summary>
/// In-process, because BenchmarkDotNet 0.14 cannot generate projects for net10.0; few iterations, because
/// each invocation already covers a million bars; memory diagnoser, because Update must not allocate.
/// The job is the default one, so command-line job options such as <c>--job dry</c> apply on top of it.
/// </summary>
public sealed class BenchmarkConfig : ManualConfig
{
    public BenchmarkConfig()
    {
        Add(DefaultConfig.Instance);
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(5)
            .AsDefault());
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}
