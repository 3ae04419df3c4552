using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Platform.Security;

/// <summary>
/// Turns exceptions into problems: a bad request that ASP.NET refused (malformed JSON, a body too large,
/// an unsupported content type, a parameter that does not bind) keeps its status and says why; anything
/// else is a 500 that points at the log by trace id without exposing internals.
/// </summary>
internal sealed partial class PlatformExceptionHandler(ILogger<PlatformExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var (status, detail) = exception switch
        {
            BadHttpRequestException { InnerException: JsonException json } => (StatusCodes.Status400BadRequest, DescribeMalformedJson(json)),
            BadHttpRequestException badRequest => (badRequest.StatusCode, badRequest.Message),
            _ => (StatusCodes.Status500InternalServerError, ServerError(context)),
        };
        if (status >= StatusCodes.Status500InternalServerError)
        {
            LogUnhandled(logger, exception, context.Request.Method, context.Request.Path);
        }

        await Problems.WriteAsync(context, status, detail);
        return true;
    }

    private static string DescribeMalformedJson(JsonException json)
    {
        // A syntax error comes from the reader (an inner JsonException) whose message says what broke; other
        // messages name .NET types, which mean nothing to a client.
        var reason = json.InnerException is JsonException syntax
            ? WithoutPosition(syntax.Message)
            : "a value has the wrong type or a required field is missing.";
        var position = json.LineNumber is { } line && json.BytePositionInLine is { } column
            ? $" (line {line + 1}, byte {column + 1})"
            : string.Empty;
        return $"The request body is not valid JSON at {json.Path ?? "$"}{position}: {reason}";
    }

    // System.Text.Json appends "LineNumber: ... | BytePositionInLine: ..." to its messages; we state the position ourselves.
    private static string WithoutPosition(string message) =>
        message.IndexOf(" LineNumber:", StringComparison.Ordinal) is var at and >= 0 ? message[..at] : message;

    private static string ServerError(HttpContext context) =>
        $"The server failed while handling the request; its log has the details under trace id {Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier}.";

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, PathString path);
}

/// <summary>Gives a detail to error statuses that were set without a body (no route, wrong method).</summary>
internal static class StatusCodeProblems
{
    public static Task WriteAsync(StatusCodeContext statusContext)
    {
        var context = statusContext.HttpContext;
        var request = context.Request;
        var status = context.Response.StatusCode;
        var detail = status switch
        {
            StatusCodes.Status404NotFound => $"Nothing is served at {request.Method} {request.Path}.",
            StatusCodes.Status405MethodNotAllowed => $"{request.Path} does not accept {request.Method}.",
            StatusCodes.Status415UnsupportedMediaType => $"{request.Method} {request.Path} does not accept a body of type '{request.ContentType}'; send application/json.",
            _ => $"The request failed: {status} {ReasonPhrases.GetReasonPhrase(status)}.",
        };
        return Problems.WriteAsync(context, status, detail);
    }
}
