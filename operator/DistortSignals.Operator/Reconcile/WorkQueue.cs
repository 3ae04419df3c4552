namespace DistortSignals.Operator.Reconcile;

/// <summary>An object the operator reconciles: its kind (plural), namespace and name.</summary>
public sealed record ObjectKey(string Kind, string Namespace, string Name)
{
    public override string ToString() => $"{Kind}/{Namespace}/{Name}";
}

/// <summary>
/// The reconcile queue: a key is queued at most once, and never handed out while it is being reconciled: a key
/// enqueued during its own reconcile is marked dirty and queued again when that reconcile ends. So each
/// object has at most one reconcile at a time, and events that arrive meanwhile collapse into one more.
/// </summary>
public sealed class WorkQueue
{
    private readonly System.Threading.Channels.Channel<ObjectKey> ready = System.Threading.Channels.Channel.CreateUnbounded<ObjectKey>();
    private readonly Lock gate = new();
    private readonly HashSet<ObjectKey> queued = [];
    private readonly HashSet<ObjectKey> running = [];
    private readonly HashSet<ObjectKey> dirty = [];

    public void Enqueue(ObjectKey key)
    {
        lock (gate)
        {
            if (running.Contains(key))
            {
                dirty.Add(key);
            }
            else if (queued.Add(key))
            {
                ready.Writer.TryWrite(key);
            }
        }
    }

    /// <summary>Enqueues after <paramref name="delay"/> unless <paramref name="cancellationToken"/> ends first.</summary>
    public void EnqueueAfter(ObjectKey key, TimeSpan delay, CancellationToken cancellationToken) =>
        _ = Task.Delay(delay, cancellationToken).ContinueWith(t =>
        {
            if (!t.IsCanceled)
            {
                Enqueue(key);
            }
        }, TaskScheduler.Default);

    public async Task<ObjectKey> DequeueAsync(CancellationToken cancellationToken)
    {
        var key = await ready.Reader.ReadAsync(cancellationToken);
        lock (gate)
        {
            queued.Remove(key);
            running.Add(key);
        }

        return key;
    }

    public void Done(ObjectKey key)
    {
        lock (gate)
        {
            running.Remove(key);
            if (dirty.Remove(key) && queued.Add(key))
            {
                ready.Writer.TryWrite(key);
            }
        }
    }
}
