using System.Net;

namespace DistortSignals.Platform.Dapr;

/// <summary>The sidecar answered with an error (<c>{"errorCode":"ERR_…","message":"…"}</c>, dapr-http-api.md section 0).</summary>
public sealed class DaprApiException(string operation, HttpStatusCode statusCode, string? errorCode, string? detail)
    : Exception($"Dapr {operation} failed with {(int)statusCode} {errorCode}: {detail}")
{
    public HttpStatusCode StatusCode { get; } = statusCode;

    public string? ErrorCode { get; } = errorCode;
}
