using System.Text.Json.Nodes;

namespace DistortSignals.Platform.Resources;

/// <summary>
/// One Kubernetes-style object from a YAML file, as JSON: the same shape <c>kubectl apply</c> sends.
/// <see cref="Source"/> says where it came from ("examples/strategies/trend.yaml, document 2").
/// </summary>
public sealed record ManifestDocument(string Source, string ApiVersion, string Kind, string Name, string? Namespace, JsonObject Body);

/// <summary>A manifest that cannot be used, with every problem found in it.</summary>
public sealed class ManifestException(string source, IReadOnlyList<string> problems)
    : Exception($"{source}: " + string.Join(Environment.NewLine + "  ", problems))
{
    public string ManifestSource { get; } = source;

    public IReadOnlyList<string> Problems { get; } = problems;
}
