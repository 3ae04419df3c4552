using System.Text.Json;
using DistortSignals.Platform.Messaging;

namespace DistortSignals.Hub.Core;

/// <summary>
/// An event as the hub holds it: its hub sequence number, the attributes filters look at (read once on
/// arrival) and the <c>event</c> frame, serialized once and shared by every client that gets it.
/// </summary>
public sealed class HubEvent
{
    internal HubEvent(long seq, string channel, CloudEvent cloudEvent)
    {
        Seq = seq;
        Channel = channel;
        CloudEvent = cloudEvent;
        var subjectIsSymbol = HubChannels.SubjectIsSymbol(channel);
        Symbol = subjectIsSymbol ? cloudEvent.Subject : DataString(cloudEvent, "symbol");
        Strategy = DataString(cloudEvent, "strategy");
        Account = DataString(cloudEvent, "account") ?? (subjectIsSymbol ? null : cloudEvent.Subject);
        Frame = HubMessages.Event(this);
    }

    public long Seq { get; }

    public string Channel { get; }

    public CloudEvent CloudEvent { get; }

    /// <summary>The symbol the event is about, if it names one.</summary>
    public string? Symbol { get; }

    /// <summary>The strategy from <c>data.strategy</c>, if present.</summary>
    public string? Strategy { get; }

    /// <summary>The account from <c>data.account</c>, or the subject on account-keyed channels.</summary>
    public string? Account { get; }

    /// <summary>The UTF-8 <c>{"type":"event",...}</c> message.</summary>
    public ReadOnlyMemory<byte> Frame { get; }

    private static string? DataString(CloudEvent cloudEvent, string name) =>
        cloudEvent.Data.ValueKind == JsonValueKind.Object
        && cloudEvent.Data.TryGetProperty(name, out var value)
        && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
