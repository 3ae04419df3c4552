using DistortSignals.Core.Validation;

namespace DistortSignals.Platform.Resources;

/// <summary>Reads the spec of one of our custom resources (group trading.distortsignals.io) from a manifest and validates it.</summary>
public static class CustomResource
{
    public const string ApiVersion = "trading.distortsignals.io/v1alpha1";

    /// <summary>Every problem of the document at once, each naming its field; throws <see cref="ManifestException"/> when there is one.</summary>
    public static TSpec ReadSpec<TSpec>(ManifestDocument document, string kind, int maxNameLength, Func<TSpec, IReadOnlyList<ValidationError>> validate)
        where TSpec : class
    {
        var problems = new List<string>();
        if (document.Kind != kind)
        {
            problems.Add($"kind: '{document.Kind}' is not {kind}");
        }

        if (document.ApiVersion != ApiVersion)
        {
            problems.Add($"apiVersion: '{document.ApiVersion}' is not {ApiVersion}");
        }

        if (!ResourceName.IsValid(document.Name, maxNameLength))
        {
            problems.Add($"metadata.name: '{document.Name}' is not a valid name ({ResourceName.Rule(maxNameLength)})");
        }

        var spec = ResourceJson.Read<TSpec>(document.Body["spec"], "spec", out var problem);
        if (problem is not null)
        {
            problems.Add(problem);
        }
        else
        {
            problems.AddRange(validate(spec!).Select(e => e.ToString()));
        }

        return problems.Count > 0 ? throw new ManifestException(document.Source, problems) : spec!;
    }
}
