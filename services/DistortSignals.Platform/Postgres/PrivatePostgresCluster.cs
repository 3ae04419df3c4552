using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DistortSignals.Platform.Postgres;

/// <summary>
/// A PostgreSQL server of our own: initdb into a folder, started with pg_ctl on a free loopback port.
/// It lets the host and the tests run on a fresh machine with nothing configured. PostgreSQL refuses
/// to run as root, so when we are root the server runs as the <c>postgres</c> user, which gets the folder.
/// </summary>
public sealed class PrivatePostgresCluster : IAsyncDisposable
{
    private const string ServiceUser = "postgres";

    private readonly string _binDirectory;
    private readonly bool _deleteOnStop;
    private bool _stopped;

    private PrivatePostgresCluster(string binDirectory, string dataDirectory, int port, bool deleteOnStop)
    {
        _binDirectory = binDirectory;
        DataDirectory = dataDirectory;
        Port = port;
        _deleteOnStop = deleteOnStop;
    }

    public string DataDirectory { get; }

    public int Port { get; }

    /// <summary>A connection string for the <c>postgres</c> database as the <c>postgres</c> superuser.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username={ServiceUser};Database=postgres;Pooling=true";

    /// <summary>
    /// Creates the cluster in <paramref name="dataDirectory"/> unless it already holds one, and starts it.
    /// With no folder given, a temporary one is used and deleted when the cluster stops.
    /// </summary>
    public static async Task<PrivatePostgresCluster> StartAsync(
        string? dataDirectory = null,
        PrivatePostgresOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new PrivatePostgresOptions();
        var binDirectory = FindBinDirectory(options.BinDirectory);
        var deleteOnStop = dataDirectory is null;
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "distortsignals-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dataDirectory);
        var asServiceUser = IsRoot();
        if (asServiceUser)
        {
            await RunAsync("chown", ["-R", $"{ServiceUser}:{ServiceUser}", dataDirectory], cancellationToken);
        }

        var cluster = new PrivatePostgresCluster(binDirectory, dataDirectory, FreeLoopbackPort(), deleteOnStop);
        try
        {
            if (!File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
            {
                await cluster.RunToolAsync("initdb", ["-D", dataDirectory, "-U", ServiceUser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"], cancellationToken);
            }

            var settings = $"-p {cluster.Port} -k {dataDirectory} -c listen_addresses=127.0.0.1";
            if (!options.Durable)
            {
                // Test clusters are thrown away: skipping fsync makes them several times faster.
                settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
            }

            await cluster.RunToolAsync("pg_ctl", ["-D", dataDirectory, "-o", settings, "-l", Path.Combine(dataDirectory, "server.log"), "-w", "-t", "60", "start"], cancellationToken);
            cluster.StartWatchdog();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the server (fast shutdown) and deletes a temporary data folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            await RunToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "stop"], CancellationToken.None);
        }

        if (_deleteOnStop)
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }

    /// <summary>
    /// Stops the server when this process is gone, however it ended: a killed host or test run must not
    /// leave a PostgreSQL server (and a temporary folder) behind.
    /// </summary>
    private void StartWatchdog()
    {
        var stop = string.Join(' ', ToolCommand("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "stop"]).Select(Quote));
        var script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1"
            + (_deleteOnStop ? $"; rm -rf {Quote(DataDirectory)}" : "");
        var start = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])["sh", "-c", script])
        {
            start.ArgumentList.Add(argument);
        }

        using var watchdog = Process.Start(start);

        static string Quote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    private Task RunToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var command = ToolCommand(tool, arguments);
        return RunAsync(command[0], command[1..], cancellationToken);
    }

    private string[] ToolCommand(string tool, IReadOnlyList<string> arguments)
    {
        var path = Path.Combine(_binDirectory, tool);
        return IsRoot() ? ["runuser", "-u", ServiceUser, "--", path, .. arguments] : [path, .. arguments];
    }

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{fileName} {string.Join(' ', arguments)} exited with code {process.ExitCode}:\n{await stderr}{await stdout}");
        }
    }

    /// <summary>
    /// Finds initdb and pg_ctl: an explicit folder, then PATH, then Debian's /usr/lib/postgresql/&lt;version&gt;/bin
    /// (newest first), where the server binaries live without being on PATH.
    /// </summary>
    internal static string FindBinDirectory(string? explicitDirectory)
    {
        IEnumerable<string> candidates = explicitDirectory is not null
            ? [explicitDirectory]
            : [
                .. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries),
                .. Directory.Exists("/usr/lib/postgresql")
                    ? Directory.GetDirectories("/usr/lib/postgresql")
                        .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                        .Select(d => Path.Combine(d, "bin"))
                    : [],
            ];
        foreach (var directory in candidates)
        {
            if (File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "pg_ctl")))
            {
                // initdb on PATH is often a symlink; pg_ctl must be beside the real binaries.
                var initdb = new FileInfo(Path.Combine(directory, "initdb"));
                return initdb.LinkTarget is { } target
                    ? Path.GetDirectoryName(Path.GetFullPath(target, directory))!
                    : directory;
            }
        }

        throw new PostgresNotInstalledException(explicitDirectory is not null
            ? $"PostgreSQL server programs (initdb, pg_ctl) were not found in {explicitDirectory}."
            : "PostgreSQL server programs (initdb, pg_ctl) were not found on PATH or under /usr/lib/postgresql/<version>/bin. "
              + "Install PostgreSQL (on Debian: apt-get install postgresql) or give a connection string to an existing server.");
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsRoot() => !OperatingSystem.IsWindows() && Environment.UserName == "root";
}

public sealed record PrivatePostgresOptions
{
    /// <summary>Where initdb and pg_ctl are; found automatically when null.</summary>
    public string? BinDirectory { get; init; }

    /// <summary>False for throw-away clusters (tests): fsync and synchronous commit are turned off.</summary>
    public bool Durable { get; init; } = true;
}

public sealed class PostgresNotInstalledException(string message) : Exception(message);
