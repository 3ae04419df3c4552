namespace DistortSignals.Ingest.Processing;

/// <summary>Settings of the ingest role (configuration section "Ingest").</summary>
public sealed record IngestOptions
{
    /// <summary>The symbols the platform takes data for; others are refused. Empty takes any valid symbol.</summary>
    public IReadOnlyList<string> Symbols { get; init; } = [];

    /// <summary>How long after a bar's end a late tick may still arrive before the watermark closes the bar.</summary>
    public TimeSpan AllowedLateness { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The wall-clock watermark only closes bars that ended within this long before now: it is for live data
    /// that goes quiet. History (a backfill, a replay) is closed by its own later ticks, never by the clock,
    /// which would otherwise close its bars while they are still being filled.
    /// </summary>
    public TimeSpan WatermarkHorizon { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the watermark closes bars that no new tick closed.</summary>
    public TimeSpan WatermarkInterval { get; init; } = TimeSpan.FromSeconds(1);
}
