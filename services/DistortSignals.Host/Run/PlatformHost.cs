using DistortSignals.Platform.Accounts;
using DistortSignals.Platform.Dapr;
using DistortSignals.Platform.Hosting;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Observability;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DistortSignals.Host.Run;

/// <summary>
/// `distortsignals run`: composes the modules of the chosen role on the chosen platform into one ASP.NET
/// Core application. The host only composes: every module registers its own services and endpoints.
/// </summary>
internal static class PlatformHost
{
    public const string ActivitySourcePattern = "DistortSignals.*";
    public const string InProcessPlatform = "inprocess";
    public const string DaprPlatform = "dapr";

    /// <summary>Reads the settings in the usual ASP.NET order, then the command line's <paramref name="overrides"/> on top.</summary>
    public static WebApplicationBuilder CreateBuilder(IReadOnlyDictionary<string, string?> overrides)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddEnvironmentVariables("DS_");
        builder.Configuration.AddInMemoryCollection(overrides);
        return builder;
    }

    /// <summary>The modules of the settings' role on its platform; an <see cref="ArgumentException"/> names a bad setting.</summary>
    public static IReadOnlyList<IModule> Modules(HostSettings settings)
    {
        if (settings.Platform is not (InProcessPlatform or DaprPlatform))
        {
            throw new ArgumentException($"--platform: '{settings.Platform}' is not one of {InProcessPlatform}, {DaprPlatform}");
        }

        return ModuleCatalog.For(settings.Role);
    }

    /// <summary>Builds the application of <paramref name="modules"/> against an already started database.</summary>
    public static WebApplication Build(WebApplicationBuilder builder, HostSettings settings, IReadOnlyList<IModule> modules, ResourceSet resources, string connectionString)
    {
        builder.WebHost.UseUrls(settings.Urls);
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        var services = builder.Services;
        services.AddSingleton(resources);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => NpgsqlDataSource.Create(StatementPreparation.Apply(connectionString)));
        services.AddSingleton<PrometheusExporter>();
        if (settings.Platform == DaprPlatform)
        {
            // The sidecar's address and tokens come from DAPR_HTTP_PORT, DAPR_API_TOKEN and APP_API_TOKEN; the Dapr section may override them.
            services.AddDaprPlatform(o => builder.Configuration.GetSection("Dapr").Bind(o));
        }
        else
        {
            services.AddInProcessPlatform(o => builder.Configuration.GetSection("InProcess").Bind(o));
        }

        services.AddPlatformSecurity(builder.Configuration);
        foreach (var module in modules)
        {
            module.ConfigureServices(services, builder.Configuration);
        }

        services.AddLoadedAccountsPush();
        var app = builder.Build();

        // The exporter only sees measurements made after it starts listening: start it before any work.
        app.Services.GetRequiredService<PrometheusExporter>();
        app.UsePlatformSecurity();
        OperationsEndpoints.Map(app);
        SecurityEndpoints.Map(app);
        AccountConfigurationEndpoints.Map(app);
        if (settings.Platform == DaprPlatform)
        {
            app.MapDaprPlatform();
        }

        foreach (var module in modules)
        {
            module.MapEndpoints(app);
        }

        return app;
    }

    /// <summary>OTLP traces and metrics of every DistortSignals source and meter, when <paramref name="otlp"/> is set.</summary>
    public static IDisposable? StartTelemetry(string role, OtlpSettings? otlp)
    {
        if (otlp is null)
        {
            return null;
        }

        var resource = ResourceBuilder.CreateDefault().AddService($"distortsignals-{role}");
        var tracing = Sdk.CreateTracerProviderBuilder().SetResourceBuilder(resource).AddSource(ActivitySourcePattern)
            .AddOtlpExporter(o => (o.Endpoint, o.Protocol) = (otlp.For("traces"), otlp.Protocol)).Build();
        var metrics = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddMeter(ActivitySourcePattern)
            .AddOtlpExporter(o => (o.Endpoint, o.Protocol) = (otlp.For("metrics"), otlp.Protocol)).Build();
        return new Disposables(tracing, metrics);
    }

    private sealed class Disposables(params IDisposable?[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item?.Dispose();
            }
        }
    }
}
