namespace DistortSignals.Platform.InProcess;

/// <summary>
/// Which events of an <see cref="Messaging.EventSubscription.OnCommit"/> subscription one of its two paths has given
/// to the consumer: the commit's notification and the queued delivery. Each event normally comes by both, so the
/// first to come records it and the second finds and forgets it, in either order. An event that comes by one path
/// only (a payload too large to notify, a notification missed while reconnecting) stays recorded until
/// <paramref name="capacity"/> newer ones push it out; an event pushed out before its second path came is given
/// twice, which at-least-once delivery allows.
/// </summary>
public sealed class OnCommitHandovers(int capacity)
{
    private readonly Lock _lock = new();
    private readonly HashSet<(string Consumer, string Topic, string EventId)> _given = [];
    private readonly Queue<(string Consumer, string Topic, string EventId)> _order = new();

    /// <summary>True when the event comes to the consumer for the first time (it is recorded); false when it was given already (it is forgotten).</summary>
    public bool FirstComing(string consumer, string topic, string eventId)
    {
        var key = (consumer, topic, eventId);
        lock (_lock)
        {
            if (_given.Remove(key))
            {
                return false;
            }

            _given.Add(key);
            _order.Enqueue(key);
            // The queue also holds keys already forgotten; dropping those costs nothing and keeps it bounded with the set.
            while (_order.Count > capacity)
            {
                _given.Remove(_order.Dequeue());
            }

            return true;
        }
    }

    /// <summary>Forgets an event whose first coming failed, so that its other path gives it.</summary>
    public void Forget(string consumer, string topic, string eventId)
    {
        lock (_lock)
        {
            _given.Remove((consumer, topic, eventId));
        }
    }
}
