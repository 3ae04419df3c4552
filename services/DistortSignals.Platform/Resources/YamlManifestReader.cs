using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace DistortSignals.Platform.Resources;

/// <summary>
/// Reads multi-document YAML manifests into JSON objects. Plain scalars take the YAML 1.2 core schema
/// (null, booleans, integers, floats); quoted scalars stay strings. The JSON is then read by the same
/// typed contracts that serve resources arriving from the Kubernetes API.
/// </summary>
public static partial class YamlManifestReader
{
    /// <summary>Every *.yaml and *.yml file below <paramref name="folder"/>, in path order.</summary>
    public static IReadOnlyList<ManifestDocument> ReadFolder(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new ManifestException(folder, ["the resources folder does not exist"]);
        }

        return [.. Directory.EnumerateFiles(folder, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .SelectMany(ReadFile)];
    }

    public static IReadOnlyList<ManifestDocument> ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new ManifestException(path, ["the file does not exist"]);
        }

        return Read(File.ReadAllText(path), path);
    }

    public static IReadOnlyList<ManifestDocument> Read(string yaml, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ManifestException(source, [$"line {e.Start.Line}, column {e.Start.Column}: {e.InnerException?.Message ?? e.Message}"]);
        }

        var documents = new List<ManifestDocument>();
        for (var i = 0; i < stream.Documents.Count; i++)
        {
            var root = stream.Documents[i].RootNode;
            var where = stream.Documents.Count > 1 ? $"{source}, document {i + 1}" : source;
            if (root is YamlScalarNode { Value: null or "" })
            {
                continue;
            }

            if (ToJson(root) is not JsonObject body)
            {
                throw new ManifestException(where, ["a manifest must be a mapping with apiVersion, kind, metadata and spec"]);
            }

            var problems = new List<string>();
            var apiVersion = RequiredString(body, "apiVersion", problems);
            var kind = RequiredString(body, "kind", problems);
            var metadata = body["metadata"] as JsonObject;
            var name = metadata is null ? null : RequiredString(metadata, "name", problems, "metadata.");
            if (metadata is null)
            {
                problems.Add("metadata: is required, with a name");
            }

            if (problems.Count > 0)
            {
                throw new ManifestException(where, problems);
            }

            documents.Add(new ManifestDocument(where, apiVersion!, kind!, name!, metadata!["namespace"]?.GetValue<string>(), body));
        }

        return documents;
    }

    private static string? RequiredString(JsonObject node, string key, List<string> problems, string prefix = "")
    {
        if (node[key] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0)
        {
            return text;
        }

        problems.Add($"{prefix}{key}: is required and must be a string");
        return null;
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(child =>
            KeyValuePair.Create(((YamlScalarNode)child.Key).Value ?? "", ToJson(child.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new YamlException(node.Start, node.End, "YAML aliases and tags other than plain values are not supported in manifests"),
    };

    private static JsonValue? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return JsonValue.Create(char.ToLowerInvariant(text[0]) == 't');
        }

        if (Integer().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        if (Float().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
        {
            return JsonValue.Create(number);
        }

        return JsonValue.Create(text);
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();
}
