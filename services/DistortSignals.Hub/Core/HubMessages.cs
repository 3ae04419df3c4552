using System.Buffers;
using System.Text.Json;
using DistortSignals.Platform;

namespace DistortSignals.Hub.Core;

/// <summary>The server's messages (DESIGN.md section 4), written as UTF-8 JSON text frames.</summary>
public static class HubMessages
{
    public static ReadOnlyMemory<byte> Event(HubEvent hubEvent) => Write(writer =>
    {
        writer.WriteString("type", "event");
        writer.WriteString("channel", hubEvent.Channel);
        writer.WriteNumber("seq", hubEvent.Seq);
        writer.WritePropertyName("event");
        JsonSerializer.Serialize(writer, hubEvent.CloudEvent, PlatformJson.Options);
    });

    public static ReadOnlyMemory<byte> Subscribed(IEnumerable<string> channels) => Write(writer =>
    {
        writer.WriteString("type", "subscribed");
        writer.WriteStartArray("channels");
        foreach (var channel in channels)
        {
            writer.WriteStringValue(channel);
        }

        writer.WriteEndArray();
    });

    public static ReadOnlyMemory<byte> Gap(long from, long to) => Write(writer =>
    {
        writer.WriteString("type", "gap");
        writer.WriteNumber("from", from);
        writer.WriteNumber("to", to);
    });

    public static ReadOnlyMemory<byte> Error(string message) => Write(writer =>
    {
        writer.WriteString("type", "error");
        writer.WriteString("message", message);
    });

    public static ReadOnlyMemory<byte> Pong() => Write(writer => writer.WriteString("type", "pong"));

    private static ReadOnlyMemory<byte> Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }
}
