using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DistortSignals.Host.Run;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DistortSignals.Host.Tests.Run;

/// <summary>
/// The whole platform as `distortsignals run` composes it (every built role, in-process platform, security),
/// on real Kestrel at a free loopback port, over its own database in the test PostgreSQL, with the example
/// resources and no synthetic feed, so the tests decide every tick.
/// </summary>
public class RunningPlatform : IAsyncLifetime
{
    private WebApplication? _app;

    public Uri Address { get; private set; } = null!;

    public string IngestKey { get; private set; } = "";

    public string ReaderKey { get; private set; } = "";

    public string ConnectionString { get; private set; } = "";

    public IServiceProvider Services => _app!.Services;

    /// <summary>The manifests the platform loads: the examples unless a fixture names its own.</summary>
    protected virtual string ResourcesFolder => Path.Combine(SharedReference.RepositoryRoot(), "examples");

    public async Task InitializeAsync()
    {
        ConnectionString = await TestPostgres.CreateDatabaseAsync();
        var builder = PlatformHost.CreateBuilder(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Resources"] = ResourcesFolder,
            ["Postgres:ConnectionString"] = ConnectionString,
            ["Feed:Mode"] = "none",
            ["InProcess:PollInterval"] = "00:00:00.100",
            ["Security:RateLimit:Burst"] = "1000",
        });
        var settings = builder.Configuration.Get<HostSettings>()!;
        _app = PlatformHost.Build(builder, settings, PlatformHost.Modules(settings), ResourceSet.LoadFolder(settings.Resources), ConnectionString);
        await _app.StartAsync();
        Address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var keys = _app.Services.GetRequiredService<ApiKeyStore>();
        IngestKey = (await keys.CreateAsync(Scopes.Ingest, "tests")).Secret;
        ReaderKey = (await keys.CreateAsync(Scopes.Reader, "tests")).Secret;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    public HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = Address };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, key);
        }

        return client;
    }

    /// <summary>GETs <paramref name="path"/> with the reader key; anything but a success fails the test with the answer.</summary>
    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var client = Client(ReaderKey);
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<HttpResponseMessage> PostAsync(string path, string body, string? key, string mediaType = "application/json")
    {
        using var client = Client(key);
        return await client.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue(mediaType)));
    }
}
