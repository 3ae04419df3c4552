using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;

namespace DistortSignals.Platform.Security;

/// <summary>Passes keys whose scope satisfies <see cref="Scope"/> (see <see cref="Scopes.Satisfies"/>).</summary>
public sealed class ScopeRequirement(string scope) : AuthorizationHandler<ScopeRequirement>, IAuthorizationRequirement
{
    public string Scope { get; } = scope;

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        var granted = context.User.GetScope();
        if (granted is not null && Scopes.Satisfies(granted, requirement.Scope))
        {
            context.Succeed(requirement);
        }
        else if (granted is not null)
        {
            var accepted = requirement.Scope == Scopes.Admin ? "'admin'" : $"'{requirement.Scope}' (or 'admin')";
            context.Fail(new AuthorizationFailureReason(this,
                $"This endpoint needs a key with scope {accepted}; key {context.User.GetApiKeyId()} has scope '{granted}'."));
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Passes <c>ea:&lt;account&gt;</c> keys only: admin keys do not speak for an account. When the route
/// names an <c>{account}</c>, it must be the key's own.
/// </summary>
public sealed class EaAccountRequirement : AuthorizationHandler<EaAccountRequirement>, IAuthorizationRequirement
{
    public const string RouteValue = "account";

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, EaAccountRequirement requirement)
    {
        var granted = context.User.GetScope();
        if (granted is null)
        {
            return Task.CompletedTask;
        }

        var keyId = context.User.GetApiKeyId();
        var account = Scopes.EaAccountOf(granted);
        var routeAccount = (context.Resource as HttpContext)?.Request.RouteValues[RouteValue]?.ToString();
        if (account is null)
        {
            context.Fail(new AuthorizationFailureReason(this,
                $"This endpoint is for an MT5 EA and needs a key with scope 'ea:<account>'; key {keyId} has scope '{granted}', and only an EA key may act for an account."));
        }
        else if (routeAccount is not null && routeAccount != account)
        {
            context.Fail(new AuthorizationFailureReason(this,
                $"Key {keyId} speaks for account '{account}', not '{routeAccount}'."));
        }
        else
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>Answers a refused authorization with a 403 problem that names the scope the endpoint needs.</summary>
internal sealed class ProblemAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (!authorizeResult.Forbidden)
        {
            return _default.HandleAsync(next, context, policy, authorizeResult);
        }

        var reasons = authorizeResult.AuthorizationFailure?.FailureReasons.Select(reason => reason.Message).ToList() ?? [];
        var detail = reasons.Count > 0 ? string.Join(" ", reasons) : "The API key's scope does not allow this request.";
        return Problems.WriteAsync(context, StatusCodes.Status403Forbidden, detail);
    }
}
