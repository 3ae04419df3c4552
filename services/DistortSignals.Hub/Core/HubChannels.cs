using DistortSignals.Platform.Messaging;

namespace DistortSignals.Hub.Core;

/// <summary>The channels a client can subscribe to: one per topic, with the topic's name.</summary>
public static class HubChannels
{
    public static IReadOnlyList<string> All { get; } =
        [Topics.Bars, Topics.Signals, Topics.Decisions, Topics.Directives, Topics.Executions, Topics.Accounts];

    public static bool IsKnown(string channel) => All.Contains(channel, StringComparer.Ordinal);

    /// <summary>Whether the event's subject is a symbol (bars, signals) rather than an account (the others).</summary>
    public static bool SubjectIsSymbol(string channel) => channel is Topics.Bars or Topics.Signals;
}
