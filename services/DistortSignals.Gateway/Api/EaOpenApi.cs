using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DistortSignals.Gateway.Api;

/// <summary>
/// Serves the EA contract's OpenAPI document (docs/api/ea-openapi.yaml, embedded at build) at
/// <see cref="Path"/> to any valid key (the EA's own included): only health and metrics are served without one.
/// A test keeps its paths in step with the mapped routes.
/// </summary>
internal static class EaOpenApi
{
    public const string Path = EaEndpoints.Prefix + "/openapi.yaml";
    public const string ResourceName = "ea-openapi.yaml";

    public static string Document { get; } = Load();

    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet(Path, () => Results.Text(Document, "application/yaml"));

    private static string Load()
    {
        using var stream = typeof(EaOpenApi).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from the gateway assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
