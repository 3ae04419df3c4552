using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DistortSignals.Hub.Web;

/// <summary>Serves the dashboard's files, embedded in this assembly: the page at <c>/</c>, its script and style under <c>/dashboard/</c>.</summary>
internal static class DashboardEndpoints
{
    private const string ResourcePrefix = "dashboard/";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
    };

    public static RouteGroupBuilder Map(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("");
        group.MapGet("/", () => EmbeddedFile("index.html"));
        group.MapGet("/dashboard/{name}", (string name) => EmbeddedFile(name));
        return group;
    }

    private static IResult EmbeddedFile(string name)
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var stream = assembly.GetManifestResourceStream(ResourcePrefix + name);
        if (stream is null || !ContentTypes.TryGetValue(Path.GetExtension(name), out var contentType))
        {
            stream?.Dispose();
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"no dashboard file named '{name}'");
        }

        return Results.Stream(stream, contentType, lastModified: LastModified(assembly));
    }

    private static DateTimeOffset? LastModified(Assembly assembly) =>
        string.IsNullOrEmpty(assembly.Location) ? null : File.GetLastWriteTimeUtc(assembly.Location);
}
