namespace DistortSignals.Ingest.Feed;

/// <summary>Settings of the synthetic feed (configuration section "Feed").</summary>
public sealed record SyntheticFeedOptions
{
    /// <summary>synthetic, or none to take data only from the API.</summary>
    public string Mode { get; init; } = "synthetic";

    /// <summary>How many times real time the market runs once it has caught up with the clock.</summary>
    public double Speed { get; init; } = 60;

    /// <summary>Market time between two ticks of one symbol.</summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>History made at start, as fast as ingest takes it, so that strategies have bars to warm up on.</summary>
    public TimeSpan Backfill { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How many ticks go into one ingest batch.</summary>
    public int BatchSize { get; init; } = 2000;

    public ulong Seed { get; init; } = 7;
}
