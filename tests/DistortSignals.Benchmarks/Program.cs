using BenchmarkDotNet.Running;
using DistortSignals.Benchmarks;
using DistortSignals.Benchmarks.Pipeline;

// `pipeline ...` runs the host under load (see PipelineRun); anything else goes to BenchmarkDotNet.
if (args.FirstOrDefault() == "pipeline")
{
    return await PipelineRun.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(BenchmarkConfig).Assembly).Run(args, new BenchmarkConfig());
return 0;
