using System.CommandLine;
using DistortSignals.Host.Run;

namespace DistortSignals.Host.Cli;

/// <summary>The `distortsignals` command line: each command lives in its own class and is added here.</summary>
internal static class CliApp
{
    public static RootCommand Build()
    {
        var root = new RootCommand("DistortSignals: trading signals, risk and execution for Kubernetes, or in one process. Without a command it runs the platform.")
        {
            RunCommand.Create(),
            IndicatorsCommand.Create(),
            SignalsCommand.Create(),
            GenerateBarsCommand.Create(),
            ReplayCommand.Create(),
        };
        // A bare `distortsignals` is `distortsignals run`.
        return RunCommand.Configure(root);
    }

    public static Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var configuration = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
        };
        return Build().Parse(args).InvokeAsync(configuration);
    }
}
