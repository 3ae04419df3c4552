using System.Text.Json;
using System.Text.Json.Serialization;

namespace DistortSignals.Platform.Messaging;

/// <summary>
/// A CloudEvents 1.0 envelope as our topics carry it (DESIGN.md section 2): <see cref="Type"/> is
/// <c>io.distortsignals.&lt;name&gt;.v1</c>, <see cref="Id"/> is deterministic where the fact has a natural
/// key (so a repeated publish is recognised downstream), and <see cref="Subject"/> is the partition key.
/// JSON names are those of the CloudEvents spec, so the same envelope goes to the Dapr sidecar as
/// <c>application/cloudevents+json</c> unchanged.
/// </summary>
public sealed record CloudEvent
{
    public const string ContentType = "application/cloudevents+json";

    [JsonPropertyName("specversion")]
    public string SpecVersion { get; init; } = "1.0";

    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("source")]
    public required string Source { get; init; }

    [JsonPropertyName("type")]
    public required string Type { get; init; }

    /// <summary>The partition key: a symbol or an account. Events with the same subject on a topic are delivered in order.</summary>
    [JsonPropertyName("subject")]
    public required string Subject { get; init; }

    [JsonPropertyName("time")]
    public required DateTimeOffset Time { get; init; }

    [JsonPropertyName("datacontenttype")]
    public string DataContentType { get; init; } = "application/json";

    [JsonPropertyName("data")]
    public required JsonElement Data { get; init; }

    /// <summary>Set by the transport on delivery (Dapr overwrites it); not part of the event's identity.</summary>
    [JsonPropertyName("topic")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Topic { get; init; }

    public static string TypeName(string name) => $"io.distortsignals.{name}.v1";

    public static CloudEvent Create<T>(string id, string source, string name, string subject, DateTimeOffset time, T data) => new()
    {
        Id = id,
        Source = source,
        Type = TypeName(name),
        Subject = subject,
        Time = time,
        Data = JsonSerializer.SerializeToElement(data, PlatformJson.Options),
    };

    public T ReadData<T>() => Data.Deserialize<T>(PlatformJson.Options)
        ?? throw new JsonException($"event {Id} of type {Type} has no data");
}
