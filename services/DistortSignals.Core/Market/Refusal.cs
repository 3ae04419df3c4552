using DistortSignals.Core.Validation;

namespace DistortSignals.Core.Market;

/// <summary>Why an aggregator refused an input.</summary>
public enum RefusalReason
{
    /// <summary>The input broke a validation rule.</summary>
    Invalid,

    /// <summary>The input belongs to another symbol or timeframe than the aggregator builds.</summary>
    WrongSeries,

    /// <summary>The bar the input belongs to is already closed; merging it would change a published bar.</summary>
    Late,

    /// <summary>The same M1 bar was already folded into the forming bar (delivery is at least once).</summary>
    Duplicate,
}

/// <summary>A refused input: the reason and the errors that explain it, each naming the field and value.</summary>
public sealed record Refusal(RefusalReason Reason, IReadOnlyList<ValidationError> Errors)
{
    public override string ToString() => $"{Reason}: {string.Join("; ", Errors)}";
}

/// <summary>
/// The outcome of one input. Only one bar forms at a time, so one input closes at most one bar:
/// <see cref="Closed"/> is that bar, or null.
/// </summary>
public readonly record struct AggregationResult(Refusal? Refusal, Bar? Closed)
{
    public bool Accepted => Refusal is null;

    internal static AggregationResult Refuse(RefusalReason reason, IReadOnlyList<ValidationError> errors) => new(new Refusal(reason, errors), null);
}
