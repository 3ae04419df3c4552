using DistortSignals.Host.Cli;

namespace DistortSignals.Host.Tests.Cli;

/// <summary>Runs the real command line in-process and captures what it writes.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    public static async Task<CliRun> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await CliApp.RunAsync(args, output, error);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    public static string TempFile(string content, string extension = ".csv")
    {
        var path = Path.Combine(Path.GetTempPath(), "ds-cli-" + Guid.NewGuid().ToString("N")[..8] + extension);
        File.WriteAllText(path, content);
        return path;
    }
}
