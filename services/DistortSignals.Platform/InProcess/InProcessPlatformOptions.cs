namespace DistortSignals.Platform.InProcess;

/// <summary>Timings and limits of the in-process platform; the defaults suit a host, tests shorten them.</summary>
public sealed class InProcessPlatformOptions
{
    /// <summary>How often the relay, the dispatcher and the reminder loop look for work when nothing woke them.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Outbox rows the relay publishes per transaction.</summary>
    public int OutboxBatchSize { get; set; } = 100;

    /// <summary>How long sent outbox rows are kept as the module's audit log.</summary>
    public TimeSpan OutboxRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often sent outbox rows and old handled-event records are pruned.</summary>
    public TimeSpan OutboxPruneInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a consumer remembers an event id it handled, to acknowledge a redelivery without effect.</summary>
    public TimeSpan HandledEventsRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>First retry delay; each further attempt doubles it, up to <see cref="RetryMaxDelay"/>, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Failed attempts after which a delivery goes to the dead letters.</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>Runs (transactions) per consumer at the same time, each over one or more subjects; a subject is in one run at a time.</summary>
    public int DeliveryParallelism { get; set; } = 4;

    /// <summary>
    /// How long a due delivery of a <see cref="Messaging.EventSubscription.Background"/> subscription waits for the
    /// other subscriptions' runs to finish before its runs start beside them, so that under a constant load it is
    /// delayed, never starved.
    /// </summary>
    public TimeSpan BackgroundMaxWait { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Deliveries handled in one run's transaction. Each takes a savepoint, and
    /// PostgreSQL caches 64 subtransactions per transaction before every snapshot in the cluster has to
    /// look them up in pg_subtrans, so the default stays below that.
    /// </summary>
    public int DeliveryBatchSize { get; set; } = 50;

    /// <summary>An actor without calls for this long is deactivated (its instance and state cache dropped).</summary>
    public TimeSpan ActorIdleTimeout { get; set; } = TimeSpan.FromMinutes(60);

    /// <summary>
    /// How long a fired reminder is reserved for this runtime; a runtime that dies while firing leaves it to
    /// fire again elsewhere after this time.
    /// </summary>
    public TimeSpan ReminderLease { get; set; } = TimeSpan.FromMinutes(1);
}
