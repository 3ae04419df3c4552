using System.Text.RegularExpressions;

namespace DistortSignals.Core.Validation;

/// <summary>Kubernetes object names as our resources use them: DNS-1123 labels.</summary>
public static partial class ResourceName
{
    /// <summary>A TradingStrategy's name is prefixed with "signals-" for its Deployment, which must stay a label.</summary>
    public const int MaxStrategyNameLength = 63 - 8;

    public const string Pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

    public static bool IsValid(string? name, int maxLength = 63) =>
        name is not null && name.Length <= maxLength && Label().IsMatch(name);

    public static string Rule(int maxLength = 63) =>
        $"lowercase letters, digits and '-', starting and ending with a letter or digit, at most {maxLength} characters";

    [GeneratedRegex(Pattern)]
    private static partial Regex Label();
}
