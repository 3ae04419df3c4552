using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using DistortSignals.Operator.Entities;
using DistortSignals.Operator.Kube;

namespace DistortSignals.Operator.Controllers;

/// <summary>How statuses are written: camelCase, enums by name, nulls left out, times as RFC 3339 UTC seconds (metav1.Time).</summary>
public static class StatusJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(), new Rfc3339Converter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static T? Read<T>(JsonObject resource)
        where T : class
    {
        try
        {
            return resource["status"]?.Deserialize<T>(Options);
        }
        catch (JsonException)
        {
            // A status someone else wrote in a shape we do not read is simply replaced.
            return null;
        }
    }

    /// <summary>Equal after a round trip through our own serializer, so number and time spellings do not matter.</summary>
    public static bool Same<T>(T? a, T? b) =>
        JsonSerializer.Serialize(a, Options) == JsonSerializer.Serialize(b, Options);

    public static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private sealed class Rfc3339Converter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
    }
}

/// <summary>metav1.Condition bookkeeping: a condition keeps its lastTransitionTime while its status stays the same.</summary>
public static class Conditions
{
    public static List<Condition> Set(IReadOnlyList<Condition>? existing, IEnumerable<(string Type, bool Status, string Reason, string Message)> wanted, long generation, DateTimeOffset now) =>
        [.. wanted.Select(w =>
        {
            var status = w.Status ? ConditionStatus.True : ConditionStatus.False;
            var old = existing?.FirstOrDefault(c => c.Type == w.Type);
            var since = old is not null && old.Status == status ? old.LastTransitionTime : TruncateToSeconds(now);
            return new Condition { Type = w.Type, Status = status, ObservedGeneration = generation, LastTransitionTime = since, Reason = w.Reason, Message = w.Message };
        })];

    public static Condition? Find(IReadOnlyList<Condition>? conditions, string type) => conditions?.FirstOrDefault(c => c.Type == type);

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset time) => new(time.Ticks - (time.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}

/// <summary>What every controller needs of an object: its coordinates and its status write.</summary>
public static class Resources
{
    public static string Namespace(JsonObject resource) => resource["metadata"]!["namespace"]!.GetValue<string>();

    public static string Name(JsonObject resource) => resource["metadata"]!["name"]!.GetValue<string>();

    public static long Generation(JsonObject resource) => resource["metadata"]?["generation"]?.GetValue<long>() ?? 0;

    /// <summary>A controller reference: one controller owner, whose deletion blocks until the child is gone in foreground deletion.</summary>
    public static JsonArray OwnerReferences(JsonObject owner) => new(new JsonObject
    {
        ["apiVersion"] = owner["apiVersion"]!.DeepClone(),
        ["kind"] = owner["kind"]!.DeepClone(),
        ["name"] = Name(owner),
        ["uid"] = owner["metadata"]!["uid"]!.DeepClone(),
        ["controller"] = true,
        ["blockOwnerDeletion"] = true,
    });

    /// <summary>Server-side apply of the whole status through /status, only when it differs from what is stored.</summary>
    public static async Task<bool> WriteStatusAsync<T>(KubeClient client, ResourceKind kind, JsonObject resource, T? old, T status, CancellationToken cancellationToken)
        where T : class
    {
        if (StatusJson.Same(old, status))
        {
            return false;
        }

        var body = new JsonObject
        {
            ["apiVersion"] = kind.ApiVersion,
            ["kind"] = kind.Kind,
            ["metadata"] = new JsonObject { ["name"] = Name(resource), ["namespace"] = Namespace(resource) },
            ["status"] = JsonSerializer.SerializeToNode(status, StatusJson.Options),
        };
        await client.ApplyAsync(kind, body, cancellationToken, "status");
        return true;
    }

    /// <summary>True when every field of <paramref name="desired"/> has the same value in <paramref name="actual"/>: applying it would change nothing.</summary>
    public static bool Contains(JsonNode? actual, JsonNode? desired) => (actual, desired) switch
    {
        (_, null) => true,
        (JsonObject a, JsonObject d) => d.All(p => a.TryGetPropertyValue(p.Key, out var v) && Contains(v, p.Value)),
        (JsonArray a, JsonArray d) => a.Count == d.Count && a.Zip(d).All(p => Contains(p.First, p.Second)),
        (JsonValue a, JsonValue d) => a.ToJsonString() == d.ToJsonString(),
        _ => false,
    };
}
