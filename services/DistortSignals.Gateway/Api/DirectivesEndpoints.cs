using System.Globalization;
using DistortSignals.Core.Execution;
using DistortSignals.Gateway.Storage;
using DistortSignals.Platform;
using DistortSignals.Platform.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DistortSignals.Gateway.Api;

/// <summary>GET /api/v1/directives?account=&amp;state=&amp;limit= (reader): the gateway's directives with their states, newest first.</summary>
internal static class DirectivesEndpoints
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static RouteHandlerBuilder Map(IEndpointRouteBuilder endpoints) => endpoints.MapGet("/api/v1/directives", GetAsync);

    private static async Task<IResult> GetAsync(string? account, string? state, string? limit, DirectiveStore store, CancellationToken cancellationToken)
    {
        DirectiveState? wanted = null;
        if (!string.IsNullOrEmpty(state))
        {
            if (!Enum.TryParse<DirectiveState>(state, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || int.TryParse(state, out _))
            {
                return Problems.BadRequest("state", $"'{state}' is not one of {string.Join(", ", Enum.GetNames<DirectiveState>())}");
            }

            wanted = parsed;
        }

        var count = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxLimit))
        {
            return Problems.BadRequest("limit", $"'{limit}' is not a whole number in 1..{MaxLimit}");
        }

        var directives = await store.QueryAsync(string.IsNullOrEmpty(account) ? null : account, wanted, count, cancellationToken);
        return Results.Json(new { directives }, PlatformJson.Options);
    }
}
