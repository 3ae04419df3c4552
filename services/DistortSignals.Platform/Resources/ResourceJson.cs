using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace DistortSignals.Platform.Resources;

/// <summary>
/// The JSON contract of our resources' specs: camelCase names, enums by name, unknown fields refused
/// (a typo must not silently fall back to a default).
/// </summary>
public static partial class ResourceJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(allowIntegerValues: false) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>
    /// Reads <paramref name="node"/> as <typeparamref name="T"/>; a problem comes back as a field path under
    /// <paramref name="root"/> and a message, not as a serializer exception.
    /// </summary>
    public static T? Read<T>(JsonNode? node, string root, out string? problem)
        where T : class
    {
        problem = null;
        if (node is null)
        {
            problem = $"{root}: is required";
            return null;
        }

        try
        {
            var value = node.Deserialize<T>(Options);
            if (value is null)
            {
                problem = $"{root}: is required";
            }

            return value;
        }
        catch (JsonException e)
        {
            problem = Describe(e, root);
            return null;
        }
    }

    private static string Describe(JsonException e, string root)
    {
        var path = root + (e.Path is { Length: > 1 } p ? p[1..] : "");
        var message = e.Message;
        if (MissingRequired().Match(message) is { Success: true } missing)
        {
            return $"{path}.{missing.Groups[1].Value}: is required";
        }

        if (UnknownMember().Match(message) is { Success: true } unknown)
        {
            // The serializer's path already ends at the unknown property.
            var name = unknown.Groups[1].Value;
            return $"{(path.EndsWith("." + name, StringComparison.Ordinal) ? path : path + "." + name)}: is not a known field";
        }

        // The serializer's own message names .NET types; keep only what a manifest author can act on.
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return $"{path}: has the wrong type or value ({(cut > 0 ? message[..cut] : message)})";
    }

    [GeneratedRegex("missing required properties including: '([^']+)'")]
    private static partial Regex MissingRequired();

    [GeneratedRegex("JSON property '([^']+)' could not be mapped")]
    private static partial Regex UnknownMember();
}
