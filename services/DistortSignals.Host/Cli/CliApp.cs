using System.CommandLine;

namespace DistortSignals.Host.Cli;

/// <summary>The `distortsignals` command line: each command lives in its own class and is added here.</summary>
internal static class CliApp
{
    public static RootCommand Build()
    {
        var root = new RootCommand("DistortSignals: trading signals, risk and execution for Kubernetes, or in one process.")
        {
            IndicatorsCommand.Create(),
            SignalsCommand.Create(),
            GenerateBarsCommand.Create(),
        };
        return root;
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
