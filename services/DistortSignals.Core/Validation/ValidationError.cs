namespace DistortSignals.Core.Validation;

/// <summary>One problem with an input: the field it concerns (a dotted path) and what is wrong, with the value.</summary>
public sealed record ValidationError(string Field, string Message)
{
    public override string ToString() => $"{Field}: {Message}";
}
