using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DistortSignals.Platform.Security;

/// <summary>The security layer's own endpoint: WebSocket tokens for browsers.</summary>
public static class SecurityEndpoints
{
    public const string WebSocketTokensPath = "/api/v1/ws-tokens";

    /// <summary>Maps <c>POST /api/v1/ws-tokens</c>, open to any valid key, in the process that serves <c>/ws</c>.</summary>
    public static IEndpointRouteBuilder Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(WebSocketTokensPath, (HttpContext context, WebSocketTokens tokens) =>
            {
                var user = context.User;
                var key = new ApiKeyIdentity(user.GetApiKeyId()!, user.GetScope()!, user.Identity?.Name ?? string.Empty);
                return TypedResults.Ok(tokens.Issue(key));
            })
            .RequireAuthorization();
        return endpoints;
    }
}
