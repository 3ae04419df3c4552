using DistortSignals.Core.Strategies;
using DistortSignals.Core.Validation;

namespace DistortSignals.Platform.Resources;

/// <summary>A TradingStrategy read from a manifest and validated.</summary>
public sealed record TradingStrategyResource(string Name, string? Namespace, TradingStrategySpec Spec)
{
    public const string ApiVersion = "trading.distortsignals.io/v1alpha1";
    public const string Kind = "TradingStrategy";

    /// <summary>Reads and validates one document; every problem is reported at once, each naming its field.</summary>
    public static TradingStrategyResource From(ManifestDocument document)
    {
        var problems = new List<string>();
        if (document.Kind != Kind)
        {
            problems.Add($"kind: '{document.Kind}' is not {Kind}");
        }

        if (document.ApiVersion != ApiVersion)
        {
            problems.Add($"apiVersion: '{document.ApiVersion}' is not {ApiVersion}");
        }

        if (!ResourceName.IsValid(document.Name, ResourceName.MaxStrategyNameLength))
        {
            problems.Add($"metadata.name: '{document.Name}' is not a valid name ({ResourceName.Rule(ResourceName.MaxStrategyNameLength)})");
        }

        var spec = ResourceJson.Read<TradingStrategySpec>(document.Body["spec"], "spec", out var problem);
        if (problem is not null)
        {
            problems.Add(problem);
        }
        else
        {
            problems.AddRange(TradingStrategyValidator.Validate(spec!).Select(e => e.ToString()));
        }

        return problems.Count > 0
            ? throw new ManifestException(document.Source, problems)
            : new TradingStrategyResource(document.Name, document.Namespace, spec!);
    }
}
