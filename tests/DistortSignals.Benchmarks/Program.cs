using BenchmarkDotNet.Running;
using DistortSignals.Benchmarks;
using DistortSignals.Benchmarks.Pipeline;

// `pipeline ...` runs the host under load (see PipelineRun), `bare-kestrel [URL]` serves the HTTP baseline for wrk;
// anything else goes to BenchmarkDotNet.
switch (args.FirstOrDefault())
{
    case "pipeline":
        return await PipelineRun.RunAsync(args[1..]);
    case "bare-kestrel":
        return await BareKestrel.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(BenchmarkConfig).Assembly).Run(args, new BenchmarkConfig());
return 0;
