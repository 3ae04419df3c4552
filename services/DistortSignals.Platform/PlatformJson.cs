using System.Text.Json;
using System.Text.Json.Serialization;

namespace DistortSignals.Platform;

/// <summary>How the platform writes event data and state values: camelCase, enums by name, web defaults.</summary>
public static class PlatformJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };
}
