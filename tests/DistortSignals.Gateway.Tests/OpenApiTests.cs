using System.Net;
using DistortSignals.Gateway.Api;
using Microsoft.AspNetCore.Routing;
using YamlDotNet.RepresentationModel;

namespace DistortSignals.Gateway.Tests;

/// <summary>The served OpenAPI document describes exactly the EA routes the gateway maps, with their methods.</summary>
public sealed class OpenApiTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task The_document_is_served_to_an_ea_key_and_matches_the_mapped_routes()
    {
        using var anonymous = fixture.Host.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(EaOpenApi.Path)).StatusCode);
        using var ea = fixture.Host.Ea("alpha");
        var response = await ea.GetAsync(EaOpenApi.Path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(await response.Content.ReadAsStringAsync()));
        var paths = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["paths"];
        var documented = paths.Children
            .SelectMany(p => ((YamlMappingNode)p.Value).Children.Keys.Select(m => $"{((YamlScalarNode)m).Value!.ToUpperInvariant()} {((YamlScalarNode)p.Key).Value}"))
            .Order()
            .ToList();

        var mapped = fixture.Host.Get<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith(EaEndpoints.Prefix, StringComparison.Ordinal) && e.RoutePattern.RawText != EaOpenApi.Path)
            .SelectMany(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()!.HttpMethods.Select(m => $"{m} {e.RoutePattern.RawText}"))
            .Order()
            .ToList();

        Assert.NotEmpty(mapped);
        Assert.Equal(mapped, documented);
    }
}
