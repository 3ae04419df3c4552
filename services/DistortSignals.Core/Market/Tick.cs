namespace DistortSignals.Core.Market;

/// <summary>
/// One price update. Bid and ask, or last, must be present; <see cref="Time"/> is UTC.
/// </summary>
public sealed record Tick(
    string Symbol,
    DateTimeOffset Time,
    double? Bid,
    double? Ask,
    double? Last,
    double Volume,
    string Source);
