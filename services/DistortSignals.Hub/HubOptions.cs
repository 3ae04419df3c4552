using System.ComponentModel.DataAnnotations;

namespace DistortSignals.Hub;

/// <summary>The hub's limits, bound from the configuration section <see cref="SectionName"/>.</summary>
public sealed class HubOptions
{
    public const string SectionName = "Hub";

    /// <summary>How many of the latest events are kept for clients that resume with <c>?since=</c>.</summary>
    [Range(1, 10_000_000)]
    public int ReplayBufferSize { get; set; } = 10_000;

    /// <summary>How many unsent messages a client may have before its pending events are dropped for a gap.</summary>
    [Range(1, 1_000_000)]
    public int ClientQueueSize { get; set; } = 1_000;

    /// <summary>A client with unsent messages that takes none of them for this long is disconnected (1008).</summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A client whose queue overflows this many times within <see cref="OverflowWindow"/> is disconnected (1013).</summary>
    [Range(1, 1_000)]
    public int OverflowLimit { get; set; } = 3;

    public TimeSpan OverflowWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The largest message a client may send; a larger one closes the connection (1009).</summary>
    [Range(64, 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 16 * 1024;

    /// <summary>How often the server pings an idle connection.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long the server waits for the pong before it drops the connection.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a closing client gets to complete the close handshake before the connection is aborted.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
