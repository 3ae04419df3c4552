using DistortSignals.Core.Strategies;
using DistortSignals.Core.Validation;

namespace DistortSignals.Platform.Resources;

/// <summary>A TradingStrategy read from a manifest and validated.</summary>
public sealed record TradingStrategyResource(string Name, string? Namespace, TradingStrategySpec Spec)
{
    public const string ApiVersion = CustomResource.ApiVersion;
    public const string Kind = "TradingStrategy";

    /// <summary>Reads and validates one document; every problem is reported at once, each naming its field.</summary>
    public static TradingStrategyResource From(ManifestDocument document) =>
        new(document.Name, document.Namespace, CustomResource.ReadSpec<TradingStrategySpec>(document, Kind, ResourceName.MaxStrategyNameLength, TradingStrategyValidator.Validate));
}
