using Microsoft.AspNetCore.Http;

namespace DistortSignals.Platform.Security;

/// <summary>
/// Error results for endpoints. Every error the platform sends is <c>application/problem+json</c> whose
/// <c>detail</c> says what was wrong; modules return these instead of bare status codes.
/// </summary>
public static class Problems
{
    /// <summary>A 400 naming the offending field, also listed under <c>errors</c>.</summary>
    public static IResult BadRequest(string field, string message) =>
        TypedResults.ValidationProblem(
            new Dictionary<string, string[]> { [field] = [message] },
            detail: $"{field}: {message}");

    public static IResult NotFound(string detail) => Status(StatusCodes.Status404NotFound, detail);

    public static IResult Conflict(string detail) => Status(StatusCodes.Status409Conflict, detail);

    public static IResult Status(int statusCode, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: statusCode);

    /// <summary>Writes a problem from middleware, where there is no endpoint to return a result.</summary>
    internal static Task WriteAsync(HttpContext context, int statusCode, string detail) =>
        Status(statusCode, detail).ExecuteAsync(context);
}
