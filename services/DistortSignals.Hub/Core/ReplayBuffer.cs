namespace DistortSignals.Hub.Core;

/// <summary>The latest events in a ring, for clients that resume. Not thread-safe: the hub guards it.</summary>
internal sealed class ReplayBuffer(int capacity)
{
    private readonly HubEvent[] _ring = new HubEvent[capacity];
    private int _start;
    private int _count;

    /// <summary>The sequence number of the oldest event still held, or null when empty.</summary>
    public long? OldestSeq => _count == 0 ? null : _ring[_start].Seq;

    public void Add(HubEvent hubEvent)
    {
        if (_count < _ring.Length)
        {
            _ring[(_start + _count++) % _ring.Length] = hubEvent;
        }
        else
        {
            _ring[_start] = hubEvent;
            _start = (_start + 1) % _ring.Length;
        }
    }

    /// <summary>The held events with a sequence number greater than <paramref name="seq"/>, oldest first.</summary>
    public IEnumerable<HubEvent> After(long seq)
    {
        for (var i = 0; i < _count; i++)
        {
            var hubEvent = _ring[(_start + i) % _ring.Length];
            if (hubEvent.Seq > seq)
            {
                yield return hubEvent;
            }
        }
    }
}
