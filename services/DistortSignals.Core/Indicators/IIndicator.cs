namespace DistortSignals.Core.Indicators;

/// <summary>
/// A streaming indicator: it takes one bar at a time and exposes its outputs by name, so that the
/// command line and the reference tests can treat every indicator alike. Strategies use the typed
/// properties of the concrete classes instead.
/// </summary>
public interface IIndicator
{
    /// <summary>The canonical ID, for example <c>MACD(12,26,9)</c>.</summary>
    string Id { get; }

    /// <summary>The output names in camelCase, for example <c>macd</c>, <c>signal</c>, <c>histogram</c>.</summary>
    IReadOnlyList<string> Outputs { get; }

    /// <summary>How many bars it takes before <see cref="IsReady"/> becomes true.</summary>
    int WarmupPeriod { get; }

    /// <summary>True once every output that is defined by construction has a value.</summary>
    bool IsReady { get; }

    /// <summary>Takes the next bar. O(1) amortized and allocation-free.</summary>
    void Update(in Ohlcv bar);

    /// <summary>The current value of output <paramref name="index"/>; null while undefined, never NaN or infinity.</summary>
    double? Output(int index);
}
