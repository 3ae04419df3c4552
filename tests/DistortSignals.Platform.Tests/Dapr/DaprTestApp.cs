using DistortSignals.Platform.Dapr;
using DistortSignals.Testing.Dapr;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DistortSignals.Platform.Tests.Dapr;

/// <summary>
/// An app on the Dapr platform, on real Kestrel, next to a <see cref="FakeDaprSidecar"/>: started as a pod would
/// be (port open, then the sidecar reads <c>/dapr/subscribe</c> and <c>/dapr/config</c>), with short timings.
/// </summary>
internal sealed class DaprTestApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly FakeDaprSidecar _sidecar;

    private DaprTestApp(WebApplication app, FakeDaprSidecar sidecar, Uri url)
    {
        _app = app;
        _sidecar = sidecar;
        Url = url;
    }

    public Uri Url { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<DaprTestApp> StartAsync(
        FakeDaprSidecar sidecar, string connectionString, Action<IServiceCollection> configure, Action<DaprPlatformOptions>? options = null, bool connect = true, Action<WebApplication>? map = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        builder.Services.AddDaprPlatform(o =>
        {
            o.HttpEndpoint = sidecar.Url;
            o.ApiToken = null;
            o.AppApiToken = null;
            o.SidecarPollInterval = TimeSpan.FromMilliseconds(50);
            o.OutboxPollInterval = TimeSpan.FromMilliseconds(50);
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(10);
            options?.Invoke(o);
        });
        configure(builder.Services);
        var app = builder.Build();
        app.MapDaprPlatform();
        map?.Invoke(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var url = new Uri(address);
        if (connect)
        {
            await sidecar.ConnectAppAsync(url);
        }

        return new DaprTestApp(app, sidecar, url);
    }

    public async ValueTask DisposeAsync()
    {
        _sidecar.DisconnectApp();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
