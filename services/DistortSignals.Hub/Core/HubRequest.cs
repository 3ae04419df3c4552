using System.Text.Json;

namespace DistortSignals.Hub.Core;

/// <summary>A client message, parsed and checked: subscribe, unsubscribe or ping.</summary>
public abstract record HubRequest
{
    public sealed record Subscribe(IReadOnlyList<string> Channels, HubFilter Filter) : HubRequest;

    public sealed record Unsubscribe(IReadOnlyList<string> Channels) : HubRequest;

    public sealed record Ping : HubRequest;

    /// <summary>Parses one text message; a message that is not valid comes back as <see cref="HubRequestException"/>.</summary>
    public static HubRequest Parse(string text)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new HubRequestException($"malformed JSON: {e.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new HubRequestException("a message must be a JSON object with a \"type\"");
            }

            if (!root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                throw new HubRequestException("a message needs a string \"type\" (subscribe, unsubscribe or ping)");
            }

            return type.GetString() switch
            {
                "subscribe" => new Subscribe(ReadChannels(root), ReadFilter(root)),
                "unsubscribe" => new Unsubscribe(ReadChannels(root)),
                "ping" => new Ping(),
                var other => throw new HubRequestException($"unknown message type '{other}' (expected subscribe, unsubscribe or ping)"),
            };
        }
    }

    private static string[] ReadChannels(JsonElement root)
    {
        var channels = ReadStrings(root, "channels", "channels");
        if (channels.Length == 0)
        {
            throw new HubRequestException($"\"channels\" must name at least one of: {string.Join(", ", HubChannels.All)}");
        }

        var unknown = channels.FirstOrDefault(channel => !HubChannels.IsKnown(channel));
        if (unknown is not null)
        {
            throw new HubRequestException($"unknown channel '{unknown}' (channels: {string.Join(", ", HubChannels.All)})");
        }

        return channels.Distinct(StringComparer.Ordinal).ToArray();
    }

    private static HubFilter ReadFilter(JsonElement root)
    {
        if (!root.TryGetProperty("filter", out var filter) || filter.ValueKind == JsonValueKind.Null)
        {
            return HubFilter.All;
        }

        if (filter.ValueKind != JsonValueKind.Object)
        {
            throw new HubRequestException("\"filter\" must be an object with symbols, strategies and accounts lists");
        }

        return new HubFilter(
            ReadStrings(filter, "symbols", "filter.symbols"),
            ReadStrings(filter, "strategies", "filter.strategies"),
            ReadStrings(filter, "accounts", "filter.accounts"));
    }

    private static string[] ReadStrings(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out var list) || list.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (list.ValueKind != JsonValueKind.Array || list.EnumerateArray().Any(item => item.ValueKind != JsonValueKind.String))
        {
            throw new HubRequestException($"\"{path}\" must be a list of strings");
        }

        return list.EnumerateArray().Select(item => item.GetString()!).ToArray();
    }
}

/// <summary>A client message the hub cannot act on; the message is sent back as an <c>error</c>.</summary>
public sealed class HubRequestException(string message) : Exception(message);
