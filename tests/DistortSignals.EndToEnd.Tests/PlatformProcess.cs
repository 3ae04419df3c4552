using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using DistortSignals.Testing;

namespace DistortSignals.EndToEnd.Tests;

/// <summary>
/// The built `distortsignals run` as a child process (`dotnet distortsignals.dll`, copied next to the tests by
/// the project reference), on a fixed loopback port and a given database, with no feed, the example
/// resources and a known admin key. It can be started again after <see cref="Kill"/>, like a restarted pod.
/// </summary>
internal sealed class PlatformProcess : IAsyncDisposable
{
    private const int OutputLinesKept = 60;

    private readonly ProcessStartInfo _start;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    private PlatformProcess(ProcessStartInfo start, Uri address)
    {
        _start = start;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>How many times the process was started.</summary>
    public int Starts { get; private set; }

    /// <summary>The manifests the crash test runs: its own fast strategy (see Resources/crash-m1.yaml).</summary>
    public static string ResourcesFolder => Path.Combine(AppContext.BaseDirectory, "Resources");

    /// <param name="resources">The manifests folder; <see cref="ResourcesFolder"/> when null.</param>
    public static PlatformProcess Create(string connectionString, string adminKey, string? resources = null)
    {
        var executable = Path.Combine(AppContext.BaseDirectory, "distortsignals.dll");
        if (!File.Exists(executable))
        {
            throw new FileNotFoundException($"the built executable is missing: {executable} (build DistortSignals.sln first)");
        }

        // The same port on every start, as a restarted service keeps its address.
        var address = new Uri($"http://127.0.0.1:{FreePort()}");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in (string[])[executable, "run", "--postgres", connectionString, "--feed", "none",
            "--urls", address.ToString().TrimEnd('/'), "--resources", resources ?? ResourcesFolder])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DS_ADMIN_KEY"] = adminKey;

        // The tick stream sends as fast as it is answered; the per-key rate limit must not refuse it for that.
        start.Environment["DS_Security__RateLimit__Burst"] = "100000";
        start.Environment["DS_Security__RateLimit__TokensPerPeriod"] = "100000";

        // A claim outlives a restart however slow the machine is (the default lease is 30 s, a start may take longer).
        start.Environment["DS_Gateway__ClaimLease"] = "00:10:00";
        return new PlatformProcess(start, address);
    }

    public void Start()
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("the platform process is already running");
        }

        _output.Clear();
        var process = new Process { StartInfo = _start };
        process.OutputDataReceived += (_, line) => Keep(line.Data);
        process.ErrorDataReceived += (_, line) => Keep(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Starts++;
        StartWatchdog(process.Id);
    }

    /// <summary>Polls /readyz until it answers 200; fails with the process's last output when it exits or does not get there in time.</summary>
    public async Task WaitReadyAsync(HttpClient client, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var process = _process ?? throw new InvalidOperationException("the platform process is not running");
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"start {Starts} of the platform exited with code {process.ExitCode} before it was ready:\n{Output}");
            }

            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException($"start {Starts} of the platform was not ready within {timeout.TotalSeconds} s:\n{Output}");
            }

            try
            {
                using var response = await client.GetAsync(new Uri(Address, "/readyz"), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            // Within the anonymous rate limit (10 requests/s), which /readyz is subject to like every endpoint.
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    /// <summary>SIGKILL to the process and anything it started (Process.Kill sends SIGKILL on Linux); returns once it is gone.</summary>
    public async Task KillAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
    }

    /// <summary>The last lines the current process wrote, for failure messages.</summary>
    public string Output => string.Join('\n', _output);

    public async ValueTask DisposeAsync() => await KillAsync();

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > OutputLinesKept)
        {
            _output.TryDequeue(out _);
        }
    }

    /// <summary>
    /// Kills the child if this test process dies first (a crashed or killed test run must not leave a
    /// platform behind); it gives up as soon as the child is gone, so it never kills a reused process id.
    /// </summary>
    private static void StartWatchdog(int childId)
    {
        var script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do kill -0 {childId} 2>/dev/null || exit 0; sleep 1; done; kill -9 {childId} 2>/dev/null";
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["sh", "-c", script])
        {
            start.ArgumentList.Add(argument);
        }

        using var watchdog = Process.Start(start);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
