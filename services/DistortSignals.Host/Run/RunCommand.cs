using System.CommandLine;
using System.Diagnostics;
using DistortSignals.Host.Cli;
using DistortSignals.Platform.Hosting;
using DistortSignals.Platform.Observability;
using DistortSignals.Platform.Resources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace DistortSignals.Host.Run;

/// <summary>`distortsignals run` (and a bare `distortsignals`): the platform, one role or all of them.</summary>
internal static class RunCommand
{
    public static Command Create() => Configure(new Command("run", "Run the platform: every role in one process by default"));

    /// <summary>Adds the run options and action to <paramref name="command"/>, so the root command can run too.</summary>
    public static T Configure<T>(T command)
        where T : Command
    {
        var role = new Option<string?>("--role") { Description = "all (default), ingest, signals, risk, gateway or hub" };
        var platform = new Option<string?>("--platform") { Description = "inprocess (default) or dapr" };
        var resources = new Option<string?>("--resources") { Description = "Folder of TradingStrategy, BrokerAccount and Secret manifests (default: examples)" };
        var urls = new Option<string?>("--urls") { Description = "Where to listen (default: http://127.0.0.1:8080)" };
        var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string (default: a private server the host starts)" };
        var feed = new Option<string?>("--feed") { Description = "synthetic (default) or none" };
        var speed = new Option<double?>("--speed") { Description = "Synthetic market speed, times real time (default: 60)" };
        foreach (var option in new Option[] { role, platform, resources, urls, postgres, feed, speed })
        {
            command.Add(option);
        }

        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(parse, context =>
        {
            var overrides = new Dictionary<string, string?>();
            void Set(string key, object? value)
            {
                if (value is not null)
                {
                    overrides[key] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            Set("Role", parse.GetValue(role));
            Set("Platform", parse.GetValue(platform));
            Set("Resources", parse.GetValue(resources));
            Set("Urls", parse.GetValue(urls));
            Set("Postgres:ConnectionString", parse.GetValue(postgres));
            Set("Feed:Mode", parse.GetValue(feed));
            Set("Feed:Speed", parse.GetValue(speed));
            return RunAsync(context, overrides, cancellationToken);
        }));
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, Dictionary<string, string?> overrides, CancellationToken cancellationToken)
    {
        var builder = PlatformHost.CreateBuilder(overrides);
        var settings = builder.Configuration.Get<HostSettings>() ?? new HostSettings();
        if (builder.Configuration["Feed:Mode"] is { } mode && mode is not ("synthetic" or "none"))
        {
            throw new InvalidInputException($"--feed: '{mode}' is not one of synthetic, none");
        }

        if (builder.Configuration.GetValue<double?>("Feed:Speed") is <= 0 and var badSpeed)
        {
            throw new InvalidInputException($"--speed: {badSpeed} must be above 0");
        }

        IReadOnlyList<IModule> modules;
        OtlpSettings? otlp;
        try
        {
            modules = PlatformHost.Modules(settings);
            otlp = OtlpSettings.From(Environment.GetEnvironmentVariable);
        }
        catch (ArgumentException e)
        {
            throw new InvalidInputException(e.Message);
        }

        var resources = ResourceSet.LoadFolder(settings.Resources);
        await using var database = await DatabaseBootstrap.StartAsync(settings.Postgres, cancellationToken);
        await using (var app = PlatformHost.Build(builder, settings, modules, resources, database.ConnectionString))
        {
            using var telemetry = PlatformHost.StartTelemetry(settings.Role, otlp);
            await app.StartAsync(cancellationToken);
            var adminKey = await AdminKey.EnsureAsync(app.Services, builder.Configuration, cancellationToken);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? settings.Urls;
            await context.Error.WriteLineAsync($"""
                DistortSignals is running: role {settings.Role}, platform {settings.Platform}, {resources.Strategies.Count} strategies on {string.Join(", ", resources.Symbols)}
                  dashboard  {address}/
                  database   {database.Description}
                  {adminKey}
                Press Ctrl+C to stop.
                """);
            await LiveSummaryAsync(context, app);
            await app.WaitForShutdownAsync(cancellationToken);
        }

        return 0;
    }

    /// <summary>One line, rewritten in place on a terminal and printed every 30 s elsewhere: ticks/s, bars and signals.</summary>
    private static async Task LiveSummaryAsync(CommandContext context, WebApplication app)
    {
        var exporter = app.Services.GetRequiredService<PrometheusExporter>();
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        var terminal = ReferenceEquals(context.Error, Console.Error) && !Console.IsErrorRedirected;
        {
            var interval = terminal ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(30);
            using var timer = new PeriodicTimer(interval);
            var lastTicks = 0.0;
            var watch = Stopwatch.StartNew();
            try
            {
                while (await timer.WaitForNextTickAsync(lifetime.ApplicationStopping))
                {
                    var ticks = exporter.Total("ingest.ticks.accepted");
                    var rate = (ticks - lastTicks) / watch.Elapsed.TotalSeconds;
                    lastTicks = ticks;
                    watch.Restart();
                    var line = $"ticks/s {rate,9:N0} | ticks {ticks,12:N0} | bars {exporter.Total("ingest.bars.closed"),10:N0} | signals {exporter.Total("signals.generated"),8:N0}";
                    await context.Error.WriteAsync(terminal ? "\r" + line : line + Environment.NewLine);
                }
            }
            catch (OperationCanceledException)
            {
                await context.Error.WriteLineAsync();
            }
        }
    }
}
