namespace DistortSignals.Core.Validation;

// Pure metadata for the operator's CRD generator (operator generate crds). They restate, for the API server,
// limits that the validators enforce; their numbers come from the validators' constants, and a test checks
// that both agree at the boundaries. Nothing in Core reads them.

/// <summary>
/// A number's allowed range; <see cref="ExclusiveMinimum"/> makes the minimum itself invalid and
/// <see cref="double.MaxValue"/> means no maximum.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaRangeAttribute(double minimum, double maximum) : Attribute
{
    public double Minimum { get; } = minimum;

    public double Maximum { get; } = maximum;

    public bool ExclusiveMinimum { get; init; }
}

/// <summary>A string's regular expression (ECMA-262, as the API server reads it).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaPatternAttribute(string pattern) : Attribute
{
    public string Pattern { get; } = pattern;
}

/// <summary>A string's length limits.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaLengthAttribute(int minimum, int maximum) : Attribute
{
    public int Minimum { get; } = minimum;

    public int Maximum { get; } = maximum;
}

/// <summary>A list's item count limits; <see cref="int.MaxValue"/> means no maximum.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaItemsAttribute(int minimum, int maximum = int.MaxValue) : Attribute
{
    public int Minimum { get; } = minimum;

    public int Maximum { get; } = maximum;

    /// <summary>The regular expression every item (a string) must match.</summary>
    public string? ItemPattern { get; init; }

    public int ItemMaxLength { get; init; }
}

/// <summary>A CEL rule on the type it decorates (<c>x-kubernetes-validations</c>), with the message naming the field.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class SchemaRuleAttribute(string rule, string message) : Attribute
{
    public string Rule { get; } = rule;

    public string Message { get; } = message;

    public string? FieldPath { get; init; }
}
