namespace DistortSignals.Testing.Dapr;

/// <summary>How the fake sidecar is configured, as a real one would be by its components, Resiliency and annotations.</summary>
public sealed class FakeDaprSidecarOptions
{
    public string AppId { get; set; } = "distortsignals";

    public string PubSubName { get; set; } = "pubsub";

    public string StateStoreName { get; set; } = "statestore";

    /// <summary><c>DAPR_API_TOKEN</c>: when set, calls without it get 401 (health calls exempt).</summary>
    public string? ApiToken { get; set; }

    /// <summary><c>APP_API_TOKEN</c>: when set, sent as <c>dapr-api-token</c> on every call to the app.</summary>
    public string? AppApiToken { get; set; }

    /// <summary>The inbound Resiliency retry policy: attempts of one delivery before it goes to the dead-letter topic.</summary>
    public int DeliveryAttempts { get; set; } = 5;

    public TimeSpan DeliveryRetryInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Delivers every acknowledged message once more, as Redis does when a message is still pending after
    /// <c>processingTimeout</c> (pitfall 6): the app must dedupe on the event id.
    /// </summary>
    public bool RedeliverAcknowledged { get; set; }

    /// <summary>Report reminder periods as the Scheduler does since 1.15, <c>@every …</c> (pitfall 5), instead of as registered.</summary>
    public bool SchedulerPeriods { get; set; } = true;

    /// <summary>How often due reminders and timers are looked for.</summary>
    public TimeSpan SchedulerTick { get; set; } = TimeSpan.FromMilliseconds(20);
}
