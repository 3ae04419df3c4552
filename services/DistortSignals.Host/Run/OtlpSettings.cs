using OpenTelemetry.Exporter;

namespace DistortSignals.Host.Run;

/// <summary>
/// Where traces and metrics go, from the standard variables <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> and
/// <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> (grpc by default, or http/protobuf). The exporter still reads the other
/// OTEL_* variables (headers, timeout) itself.
/// </summary>
internal sealed record OtlpSettings(Uri Endpoint, OtlpExportProtocol Protocol)
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ProtocolVariable = "OTEL_EXPORTER_OTLP_PROTOCOL";

    /// <summary>Null when no endpoint is set; an <see cref="ArgumentException"/> names a bad variable.</summary>
    public static OtlpSettings? From(Func<string, string?> variable)
    {
        var endpoint = variable(EndpointVariable);
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return null;
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"{EndpointVariable}: '{endpoint}' is not an http or https URL");
        }

        var protocol = variable(ProtocolVariable) switch
        {
            null or "" or "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            var other => throw new ArgumentException($"{ProtocolVariable}: '{other}' is not one of grpc, http/protobuf"),
        };
        return new OtlpSettings(uri, protocol);
    }

    /// <summary>
    /// The URL of one signal ("traces", "metrics"): over HTTP the general endpoint gets <c>/v1/&lt;signal&gt;</c>
    /// appended, as the OTLP exporter specification says; gRPC uses it as it is.
    /// </summary>
    public Uri For(string signal) =>
        Protocol == OtlpExportProtocol.HttpProtobuf ? new Uri(Endpoint.AbsoluteUri.TrimEnd('/') + "/v1/" + signal) : Endpoint;
}
