namespace DistortSignals.Core.Validation;

/// <summary>One broken rule: the field (camelCase, as on the wire) and a message that quotes the value.</summary>
public sealed record ValidationError(string Field, string Message)
{
    public override string ToString() => $"{Field}: {Message}";
}
