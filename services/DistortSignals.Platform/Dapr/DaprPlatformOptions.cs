using System.Globalization;

namespace DistortSignals.Platform.Dapr;

/// <summary>
/// Where the sidecar is and how we talk to it. The defaults come from the variables the Dapr injector and
/// SDKs use (dapr-http-api.md sections 4 and 5): <c>DAPR_HTTP_ENDPOINT</c> or <c>DAPR_HTTP_PORT</c> (3500),
/// <c>DAPR_API_TOKEN</c> (sent as <c>dapr-api-token</c>) and <c>APP_API_TOKEN</c> (required on calls from the sidecar).
/// </summary>
public sealed class DaprPlatformOptions
{
    public const string DefaultStateStoreName = "statestore";

    public Uri HttpEndpoint { get; set; } = new("http://127.0.0.1:3500");

    /// <summary>Sent as <c>dapr-api-token</c> on every call to the sidecar when set.</summary>
    public string? ApiToken { get; set; }

    /// <summary>When set, calls from the sidecar must carry it as <c>dapr-api-token</c>.</summary>
    public string? AppApiToken { get; set; }

    public string PubSubName { get; set; } = Messaging.Topics.PubSubName;

    /// <summary>The state store component, also the actor state store (<c>actorStateStore: "true"</c>).</summary>
    public string StateStoreName { get; set; } = DefaultStateStoreName;

    /// <summary>How long the first call waits for <c>/v1.0/healthz/outbound</c> before failing.</summary>
    public TimeSpan SidecarWaitTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the wait asks; the .NET SDK polls every 500 ms.</summary>
    public TimeSpan SidecarPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>One attempt of one sidecar call.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of calls that are safe to repeat (reads, unconditional writes, publishes: consumers dedupe on the event id).</summary>
    public int MaxRetries { get; set; } = 3;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The breaker opens when at least this share of calls in <see cref="BreakerSamplingDuration"/> failed.</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;

    public int BreakerMinimumThroughput { get; set; } = 10;

    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>What <c>GET /dapr/config</c> announces: an actor idle this long is deactivated by the sidecar.</summary>
    public TimeSpan ActorIdleTimeout { get; set; } = TimeSpan.FromMinutes(60);

    public TimeSpan DrainOngoingCallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the outbox relay looks for unsent rows when no notification woke it.</summary>
    public TimeSpan OutboxPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    public int OutboxBatchSize { get; set; } = 100;

    public TimeSpan OutboxRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long the consumers' handled-event records are kept; far longer than any redelivery (Redis: after 60 s).</summary>
    public TimeSpan HandledEventsRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Reads the standard Dapr variables; explicit configuration applied afterwards wins.</summary>
    public void ReadEnvironment(Func<string, string?> variable)
    {
        if (variable("DAPR_HTTP_ENDPOINT") is { Length: > 0 } endpoint)
        {
            HttpEndpoint = new Uri(endpoint);
        }
        else if (variable("DAPR_HTTP_PORT") is { Length: > 0 } port)
        {
            HttpEndpoint = int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is > 0 and < 65536
                ? new Uri($"http://127.0.0.1:{number}")
                : throw new ArgumentException($"DAPR_HTTP_PORT: '{port}' is not a port number");
        }

        if (variable("DAPR_API_TOKEN") is { Length: > 0 } apiToken)
        {
            ApiToken = apiToken;
        }

        if (variable("APP_API_TOKEN") is { Length: > 0 } appApiToken)
        {
            AppApiToken = appApiToken;
        }
    }
}
