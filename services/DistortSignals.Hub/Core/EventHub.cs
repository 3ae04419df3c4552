using DistortSignals.Platform.Messaging;

namespace DistortSignals.Hub.Core;

/// <summary>
/// The hub: numbers every event it receives with a sequence number that only grows, keeps the latest in
/// a replay buffer and offers each to the clients subscribed to its channel. Offering never waits on a
/// client (see <see cref="HubClient"/>), so one slow client cannot hold up the others. One lock orders
/// publishing and subscribing, so a resuming client gets the replay and then the live events with
/// nothing missed or repeated in between.
/// </summary>
public sealed class EventHub : IDisposable
{
    private static readonly TimeSpan StallCheckPeriod = TimeSpan.FromSeconds(1);

    private readonly object _lock = new();
    private readonly HubOptions _options;
    private readonly HubMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ReplayBuffer _buffer;
    private readonly List<HubClient> _clients = [];
    private readonly ITimer _stallTimer;
    private long _lastSeq;
    private long _lastClientId;

    public EventHub(HubOptions options, HubMetrics metrics, TimeProvider time)
    {
        _options = options;
        _metrics = metrics;
        _time = time;
        _buffer = new ReplayBuffer(options.ReplayBufferSize);
        _stallTimer = time.CreateTimer(_ => CheckStalledClients(), null, StallCheckPeriod, StallCheckPeriod);
    }

    /// <summary>The sequence number of the latest event, 0 before the first.</summary>
    public long LastSeq
    {
        get
        {
            lock (_lock)
            {
                return _lastSeq;
            }
        }
    }

    public IReadOnlyList<HubClient> Clients
    {
        get
        {
            lock (_lock)
            {
                return _clients.ToArray();
            }
        }
    }

    /// <summary>Numbers the event, keeps it for replay and offers it to the subscribed clients.</summary>
    public HubEvent Publish(string channel, CloudEvent cloudEvent)
    {
        if (!HubChannels.IsKnown(channel))
        {
            throw new ArgumentException($"unknown channel '{channel}'", nameof(channel));
        }

        lock (_lock)
        {
            var hubEvent = new HubEvent(++_lastSeq, channel, cloudEvent);
            _buffer.Add(hubEvent);
            foreach (var client in _clients)
            {
                if (client.Wants(hubEvent))
                {
                    client.Offer(hubEvent, replayed: false);
                }
            }

            _metrics.EventsReceived.Add(1);
            return hubEvent;
        }
    }

    /// <summary>Adds a client; <paramref name="since"/> is the last sequence number it has seen, for a resume.</summary>
    public HubClient Connect(long? since = null)
    {
        lock (_lock)
        {
            var client = new HubClient(this, ++_lastClientId, since, _options, _time, _metrics);
            _clients.Add(client);
            _metrics.ClientsConnected.Add(1);
            return client;
        }
    }

    public void Disconnect(HubClient client)
    {
        lock (_lock)
        {
            if (!_clients.Remove(client))
            {
                return;
            }
        }

        _metrics.ClientsConnected.Add(-1);
        _metrics.Disconnects.Add(1, new KeyValuePair<string, object?>("status", client.Close?.Status.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "aborted"));
    }

    /// <summary>Asks every client to close, as on shutdown.</summary>
    public void CloseAll(int status, string reason)
    {
        foreach (var client in Clients)
        {
            client.RequestClose(status, reason);
        }
    }

    /// <summary>Closes the clients that have stopped taking messages; a timer calls this every second.</summary>
    public void CheckStalledClients()
    {
        var now = _time.GetUtcNow();
        foreach (var client in Clients)
        {
            client.CheckStalled(now);
        }
    }

    public void Dispose() => _stallTimer.Dispose();

    internal void Subscribe(HubClient client, IReadOnlyList<string> channels, HubFilter filter)
    {
        lock (_lock)
        {
            foreach (var channel in channels)
            {
                client.Subscriptions[channel] = filter;
            }

            client.Reply(SubscribedMessage(client));
            if (client.ResumeAfter is { } since)
            {
                client.ResumeAfter = null;
                Replay(client, since);
            }
        }
    }

    internal void Unsubscribe(HubClient client, IReadOnlyList<string> channels)
    {
        lock (_lock)
        {
            foreach (var channel in channels)
            {
                client.Subscriptions.Remove(channel);
            }

            client.Reply(SubscribedMessage(client));
        }
    }

    private static ReadOnlyMemory<byte> SubscribedMessage(HubClient client) =>
        HubMessages.Subscribed(HubChannels.All.Where(client.Subscriptions.ContainsKey));

    /// <summary>Queues the held events after <paramref name="since"/> that the client wants, after a gap for any no longer held.</summary>
    private void Replay(HubClient client, long since)
    {
        var oldest = _buffer.OldestSeq ?? _lastSeq + 1;
        if (since + 1 < oldest && since < _lastSeq)
        {
            client.AnnounceGap(since + 1, oldest - 1);
        }

        foreach (var hubEvent in _buffer.After(since))
        {
            if (client.Wants(hubEvent))
            {
                client.Offer(hubEvent, replayed: true);
            }
        }
    }
}
