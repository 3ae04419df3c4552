using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Benchmarks.Pipeline;

/// <summary>
/// The baseline for HTTP load tests: Kestrel answering a fixed small JSON body with no middleware, no key, no
/// database, so that wrk against it measures what the machine and the HTTP stack give before any of our work.
/// </summary>
internal static class BareKestrel
{
    public static async Task<int> RunAsync(string[] args)
    {
        var urls = args.ElementAtOrDefault(0) ?? "http://127.0.0.1:8090";
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(urls);
        var app = builder.Build();
        app.MapGet("/", () => Results.Text("""{"directives":[],"serverTime":"2026-01-01T00:00:00Z"}""", "application/json"));
        Console.WriteLine($"bare Kestrel on {urls}; Ctrl+C stops it");
        await app.RunAsync();
        return 0;
    }
}
