namespace DistortSignals.Hub.Core;

/// <summary>One message for the connection to send: a text frame, or the close that ends it.</summary>
public readonly record struct HubOutgoing(ReadOnlyMemory<byte> Frame, bool IsEvent, HubClose? Close);

/// <summary>
/// One connected client: its subscriptions and its bounded queue of messages to send. The hub offers
/// events without ever waiting on the client; when the queue is full the client's pending events are
/// dropped and one <c>gap</c> takes their place, and a client that overflows too often or stops taking
/// messages is asked to close. The connection reads the queue with <see cref="ReadAsync"/> and hands
/// incoming text to <see cref="Receive"/>.
/// </summary>
public sealed class HubClient
{
    private readonly object _lock = new();
    private readonly EventHub _hub;
    private readonly HubOptions _options;
    private readonly TimeProvider _time;
    private readonly HubMetrics _metrics;
    private readonly Queue<Entry> _queue = new();
    private readonly Queue<DateTimeOffset> _overflows = new();
    private readonly TaskCompletionSource<HubClose> _closeRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _counted;
    private DateTimeOffset _waitingSince;
    private HubClose? _close;
    private TaskCompletionSource? _waiter;

    internal HubClient(EventHub hub, long id, long? since, HubOptions options, TimeProvider time, HubMetrics metrics)
    {
        _hub = hub;
        Id = id;
        ResumeAfter = since;
        _options = options;
        _time = time;
        _metrics = metrics;
    }

    private enum EntryKind
    {
        Event,
        Gap,
        Reply,
    }

    public long Id { get; }

    /// <summary>Completes with the close the hub asked for (slow client, oversized message, shutdown, client close).</summary>
    public Task<HubClose> CloseRequested => _closeRequested.Task;

    /// <summary>The close requested so far, if any.</summary>
    public HubClose? Close
    {
        get
        {
            lock (_lock)
            {
                return _close;
            }
        }
    }

    /// <summary>The channel subscriptions; read and changed only under the hub's lock.</summary>
    internal Dictionary<string, HubFilter> Subscriptions { get; } = new(StringComparer.Ordinal);

    /// <summary>The <c>?since=</c> of the connection, used by the first subscribe and then cleared; under the hub's lock.</summary>
    internal long? ResumeAfter { get; set; }

    /// <summary>Acts on one text message from the client; anything invalid is answered with an <c>error</c>.</summary>
    public void Receive(string text)
    {
        HubRequest request;
        try
        {
            request = HubRequest.Parse(text);
        }
        catch (HubRequestException e)
        {
            Reply(HubMessages.Error(e.Message));
            return;
        }

        switch (request)
        {
            case HubRequest.Subscribe subscribe:
                _hub.Subscribe(this, subscribe.Channels, subscribe.Filter);
                break;
            case HubRequest.Unsubscribe unsubscribe:
                _hub.Unsubscribe(this, unsubscribe.Channels);
                break;
            case HubRequest.Ping:
                Reply(HubMessages.Pong());
                break;
        }
    }

    /// <summary>Sends an <c>error</c> saying why, then closes with <paramref name="status"/>.</summary>
    public void Refuse(int status, string message)
    {
        Reply(HubMessages.Error(message));
        RequestClose(status, message);
    }

    /// <summary>Asks the connection to close: pending events are dropped, replies already queued still go out first.</summary>
    public void RequestClose(int status, string reason)
    {
        lock (_lock)
        {
            RequestCloseLocked(new HubClose(status, reason));
        }
    }

    /// <summary>The next message to send; waits until there is one. After a close it returns the close.</summary>
    public async ValueTask<HubOutgoing> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_queue.TryDequeue(out var entry))
                {
                    _counted -= entry.Counted ? 1 : 0;
                    _waitingSince = _time.GetUtcNow();
                    return entry.Kind switch
                    {
                        EntryKind.Event => new HubOutgoing(entry.Frame, true, null),
                        EntryKind.Gap => new HubOutgoing(HubMessages.Gap(entry.Seq, entry.GapTo), false, null),
                        _ => new HubOutgoing(entry.Frame, false, null),
                    };
                }

                if (_close is not null)
                {
                    return new HubOutgoing(default, false, _close);
                }

                _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _waiter.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    internal bool Wants(HubEvent hubEvent) =>
        Subscriptions.TryGetValue(hubEvent.Channel, out var filter) && filter.Matches(hubEvent);

    internal void Reply(ReadOnlyMemory<byte> frame)
    {
        lock (_lock)
        {
            if (_close is not null)
            {
                return;
            }

            if (_counted >= _options.ClientQueueSize)
            {
                RequestCloseLocked(new HubClose(HubCloseStatus.PolicyViolation, $"client is not reading: {_counted} replies unsent"));
                return;
            }

            Enqueue(new Entry(EntryKind.Reply, frame, 0, 0, Counted: true));
        }
    }

    /// <summary>
    /// Queues a live event, or a replayed one: replayed events are already held by the replay buffer, so
    /// they do not count against the queue size and a resume never starts with an overflow.
    /// </summary>
    internal void Offer(HubEvent hubEvent, bool replayed)
    {
        lock (_lock)
        {
            if (_close is not null)
            {
                return;
            }

            if (!replayed && _counted >= _options.ClientQueueSize && !Overflow(hubEvent.Seq))
            {
                return;
            }

            Enqueue(new Entry(EntryKind.Event, hubEvent.Frame, hubEvent.Seq, 0, Counted: !replayed));
        }
    }

    /// <summary>Queues a gap for events the client can no longer get (a resume older than the buffer).</summary>
    internal void AnnounceGap(long from, long to)
    {
        lock (_lock)
        {
            if (_close is null)
            {
                _metrics.Gaps.Add(1);
                Enqueue(new Entry(EntryKind.Gap, default, from, to, Counted: false));
            }
        }
    }

    /// <summary>Closes the client when it has had messages waiting and taken none for longer than the stall timeout.</summary>
    internal void CheckStalled(DateTimeOffset now)
    {
        lock (_lock)
        {
            var waited = now - _waitingSince;
            if (_close is null && _queue.Count > 0 && waited > _options.StallTimeout)
            {
                RequestCloseLocked(new HubClose(HubCloseStatus.PolicyViolation,
                    $"slow client: took no message for {waited.TotalSeconds:0} s with {_queue.Count} waiting"));
            }
        }
    }

    /// <summary>
    /// Drops the pending events (keeping replies) and puts one gap, merged with any unsent gap, in their
    /// place. Returns whether the client is still open to take the event that overflowed.
    /// </summary>
    private bool Overflow(long seq)
    {
        var from = long.MaxValue;
        var kept = new List<Entry>();
        foreach (var entry in _queue)
        {
            if (entry.Kind == EntryKind.Reply)
            {
                kept.Add(entry);
            }
            else
            {
                from = Math.Min(from, entry.Seq);
            }
        }

        if (from == long.MaxValue)
        {
            RequestCloseLocked(new HubClose(HubCloseStatus.PolicyViolation, $"client is not reading: {kept.Count} replies unsent"));
            return false;
        }

        _queue.Clear();
        kept.ForEach(_queue.Enqueue);
        _queue.Enqueue(new Entry(EntryKind.Gap, default, from, seq - 1, Counted: false));
        _counted = kept.Count;
        _metrics.Gaps.Add(1);

        var now = _time.GetUtcNow();
        _overflows.Enqueue(now);
        while (now - _overflows.Peek() > _options.OverflowWindow)
        {
            _overflows.Dequeue();
        }

        if (_overflows.Count >= _options.OverflowLimit)
        {
            RequestCloseLocked(new HubClose(HubCloseStatus.TryAgainLater,
                $"slow client: queue of {_options.ClientQueueSize} overflowed {_overflows.Count} times within {_options.OverflowWindow.TotalSeconds:0} s"));
            return false;
        }

        return true;
    }

    private void Enqueue(Entry entry)
    {
        if (_queue.Count == 0)
        {
            _waitingSince = _time.GetUtcNow();
        }

        _queue.Enqueue(entry);
        _counted += entry.Counted ? 1 : 0;
        Wake();
    }

    private void RequestCloseLocked(HubClose close)
    {
        if (_close is not null)
        {
            return;
        }

        _close = close;
        var replies = _queue.Where(entry => entry.Kind == EntryKind.Reply).ToList();
        _queue.Clear();
        replies.ForEach(_queue.Enqueue);
        _counted = replies.Count;
        _closeRequested.TrySetResult(close);
        Wake();
    }

    private void Wake()
    {
        _waiter?.TrySetResult();
        _waiter = null;
    }

    /// <summary>A queued message; for a gap, <see cref="Seq"/> and <see cref="GapTo"/> are its range.</summary>
    private readonly record struct Entry(EntryKind Kind, ReadOnlyMemory<byte> Frame, long Seq, long GapTo, bool Counted);
}
