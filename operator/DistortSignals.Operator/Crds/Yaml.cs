using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Serialization;

namespace DistortSignals.Operator.Crds;

/// <summary>Writes JSON nodes as YAML documents, keeping key order and quoting strings that would read back as other types.</summary>
public static class Yaml
{
    private static readonly ISerializer Serializer = new SerializerBuilder().WithQuotingNecessaryStrings().DisableAliases().Build();

    public static string Write(params JsonNode[] documents) =>
        string.Join("---\n", documents.Select(d => Serializer.Serialize(Plain(d))));

    private static object? Plain(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(p => p.Key, p => Plain(p.Value)),
        JsonArray a => a.Select(Plain).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => v.TryGetValue<long>(out var l) ? l : v.TryGetValue<int>(out var i) ? i : (object)v.GetValue<double>(),
            _ => null,
        },
        _ => null,
    };
}
