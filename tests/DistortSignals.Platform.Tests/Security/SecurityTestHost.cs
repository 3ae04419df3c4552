using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using DistortSignals.Platform.Accounts;
using DistortSignals.Platform.Security;
using DistortSignals.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DistortSignals.Platform.Tests.Security;

/// <summary>
/// A real ASP.NET pipeline on TestServer with the security layer as the host will wire it, its own
/// PostgreSQL database, a clock the tests can move and every log line captured, with endpoints that
/// stand in for the modules'.
/// </summary>
public sealed class SecurityTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly NpgsqlDataSource _dataSource;

    private SecurityTestHost(WebApplication app, NpgsqlDataSource dataSource, CapturedLogs logs, ManualClock clock, bool onKestrel)
    {
        _app = app;
        _dataSource = dataSource;
        Logs = logs;
        Clock = clock;
        Client = onKestrel
            ? new HttpClient { BaseAddress = new Uri(app.Urls.Single()) }
            : app.GetTestClient();
    }

    /// <summary>The body limit the bulk endpoint declares for itself.</summary>
    public const long BulkLimit = 2 * 1024 * 1024;

    public HttpClient Client { get; }

    public CapturedLogs Logs { get; }

    public ManualClock Clock { get; }

    public ApiKeyStore Keys => _app.Services.GetRequiredService<ApiKeyStore>();

    public TestServer Server => _app.GetTestServer();

    public NpgsqlDataSource DataSource => _dataSource;

    /// <param name="onKestrel">Serve on real Kestrel at a free loopback port instead of TestServer.</param>
    /// <param name="services">Registers more services, for example the account configuration sinks a test watches.</param>
    public static async Task<SecurityTestHost> StartAsync(IDictionary<string, string?>? settings = null, bool onKestrel = false, Action<IServiceCollection>? services = null)
    {
        var dataSource = NpgsqlDataSource.Create(await TestPostgres.CreateDatabaseAsync());
        var logs = new CapturedLogs();
        var clock = new ManualClock();
        var builder = WebApplication.CreateSlimBuilder();
        if (onKestrel)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Trace);
        builder.Services.AddSingleton(dataSource);
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddPlatformSecurity(builder.Configuration);
        services?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseWebSockets();
        app.UsePlatformSecurity();
        MapModuleStandIns(app);
        SecurityEndpoints.Map(app);
        AccountConfigurationEndpoints.Map(app);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            await dataSource.DisposeAsync();
            throw;
        }

        return new SecurityTestHost(app, dataSource, logs, clock, onKestrel);
    }

    public async Task<string> CreateKeyAsync(string scope) => (await Keys.CreateAsync(scope, "test " + scope)).Secret;

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? key, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
        {
            request.Headers.Add(ApiKeyAuthenticationHandler.HeaderName, key);
        }

        return Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> GetAsync(string path, string? key) => SendAsync(HttpMethod.Get, path, key);

    /// <summary>Opens <c>/ws</c> as a browser would, with a token in the query, and returns what the server says first.</summary>
    public async Task<string> OpenWebSocketAsync(string token)
    {
        var client = Server.CreateWebSocketClient();
        using var socket = await client.ConnectAsync(new Uri(Server.BaseAddress, "ws?token=" + Uri.EscapeDataString(token)), CancellationToken.None);
        var buffer = new byte[256];
        var hello = await socket.ReceiveAsync(buffer, CancellationToken.None);
        var text = Encoding.UTF8.GetString(buffer, 0, hello.Count);
        await socket.ReceiveAsync(buffer, CancellationToken.None);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        return text;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
        await _dataSource.DisposeAsync();
    }

    private static void MapModuleStandIns(WebApplication app)
    {
        foreach (var path in new[] { "/healthz", "/readyz", "/metrics" })
        {
            app.MapGet(path, () => "ok").AllowAnonymous();
        }

        app.MapGet("/api/v1/admin/keys", () => "admin").RequireAuthorization(Scopes.Admin);
        app.MapGroup("/api/v1/signals").RequireAuthorization(Scopes.Reader).MapGet("/", () => "signals");
        app.MapPost("/api/v1/ticks", (TickBody tick) => tick).RequireAuthorization(Scopes.Ingest);
        app.MapPost("/api/v1/bulk", async (HttpRequest request) =>
            {
                var received = new MemoryStream();
                await request.Body.CopyToAsync(received);
                return received.Length;
            })
            .RequireAuthorization(Scopes.Ingest)
            .WithMetadata(new RequestSizeLimitAttribute(BulkLimit));
        app.MapGet("/api/v1/plain", () => "any key");
        app.MapGet("/api/v1/validate", () => Problems.BadRequest("symbol", "must be 6 letters such as EURUSD"));
        app.MapGet("/api/v1/broken", string () => throw new InvalidOperationException("the order book cache is corrupt"));

        var ea = app.MapGroup("/ea/v1").RequireAuthorization(Scopes.Ea);
        ea.MapGet("/whoami", (HttpContext context) => context.GetEaAccount());
        ea.MapGet("/accounts/{account}/status", (string account) => account);

        app.MapGet("/ws", async (HttpContext context) =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var hello = Encoding.UTF8.GetBytes($"{context.User.GetApiKeyId()} {context.User.GetScope()}");
            await socket.SendAsync(hello, WebSocketMessageType.Text, true, context.RequestAborted);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
        });
    }

    public sealed record TickBody(string Symbol, DateTimeOffset Time, decimal Bid, decimal Ask);
}

/// <summary>Asserts on problem+json answers.</summary>
public static class ProblemAssert
{
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, int status, string detailContains)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Contains(detailContains, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(problem.TryGetProperty("traceId", out _), "The problem carries the trace id.");
        return problem;
    }
}

/// <summary>Every log line of the host, with its exception, for checks that secrets never reach a log.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
