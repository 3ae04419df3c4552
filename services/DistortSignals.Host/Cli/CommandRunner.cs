using System.CommandLine;
using DistortSignals.Host.Csv;
using DistortSignals.Platform.Resources;
using Spectre.Console;

namespace DistortSignals.Host.Cli;

/// <summary>
/// Runs a command's work and turns the input problems it reports into one clear line on stderr and
/// exit code 2, instead of a stack trace. Anything else is a bug and keeps its stack trace.
/// </summary>
internal static class CommandRunner
{
    public const int InputError = 2;

    public static async Task<int> RunAsync(ParseResult parse, Func<CommandContext, Task<int>> work)
    {
        var context = new CommandContext(parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        try
        {
            return await work(context);
        }
        catch (Exception e) when (e is CsvInputException or ManifestException or FormatException or InvalidInputException)
        {
            await context.Error.WriteLineAsync("error: " + e.Message);
            return InputError;
        }
    }
}

/// <summary>The streams a command writes to, and a Spectre console over stderr for tables and progress.</summary>
internal sealed class CommandContext(TextWriter output, TextWriter error)
{
    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    public IAnsiConsole Console { get; } = CreateConsole(error);

    /// <summary>The file named by --output, or the command's standard output when none is named.</summary>
    public OutputTarget OpenOutput(FileInfo? file) => OutputTarget.Open(file, Output);

    /// <summary>Opens --input, or says plainly that it is missing.</summary>
    public static StreamReader OpenInput(FileInfo file, string option = "--input") =>
        file.Exists ? new StreamReader(file.FullName) : throw new InvalidInputException($"{option}: the file '{file.FullName}' does not exist");

    /// <summary>Colours and live progress only on a terminal; plain text into pipes, files and tests.</summary>
    private static IAnsiConsole CreateConsole(TextWriter error)
    {
        var terminal = ReferenceEquals(error, System.Console.Error) && !System.Console.IsErrorRedirected;
        return AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(error),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
        });
    }
}

/// <summary>A command-line input that cannot be used; the message names the option and the value.</summary>
internal sealed class InvalidInputException(string message) : Exception(message);

/// <summary>
/// Where a command writes its result. A file is written under a temporary name and only takes its
/// real name once the command succeeds, so a failed run never leaves a half-written file behind.
/// </summary>
internal sealed class OutputTarget : IAsyncDisposable
{
    private readonly FileInfo? _file;
    private readonly string? _temporary;
    private bool _committed;

    private OutputTarget(TextWriter writer, FileInfo? file, string? temporary)
    {
        Writer = writer;
        _file = file;
        _temporary = temporary;
    }

    public TextWriter Writer { get; }

    public static OutputTarget Open(FileInfo? file, TextWriter standardOutput)
    {
        if (file is null)
        {
            return new OutputTarget(standardOutput, null, null);
        }

        if (file.Directory is { Exists: false } directory)
        {
            throw new InvalidInputException($"--output: the folder '{directory.FullName}' does not exist");
        }

        var temporary = file.FullName + ".partial";
        return new OutputTarget(new StreamWriter(temporary), file, temporary);
    }

    public async Task CommitAsync()
    {
        await Writer.FlushAsync();
        if (_file is not null)
        {
            await Writer.DisposeAsync();
            File.Move(_temporary!, _file.FullName, overwrite: true);
        }

        _committed = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_file is not null && !_committed)
        {
            await Writer.DisposeAsync();
            File.Delete(_temporary!);
        }
    }
}
