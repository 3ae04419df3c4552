using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace DistortSignals.Benchmarks.Pipeline;

/// <summary>
/// Records when the runtime stopped this process's threads for a garbage collection and for how long, so that the
/// slowest deliveries of a run can be read beside the pauses. A pause runs from the runtime's suspension of threads
/// (GCSuspendEEBegin) to their restart (GCRestartEEEnd), as the runtime's GC events define it; of that, the part until
/// every thread had stopped (GCSuspendEEEnd) is the suspension, and the generation is that of the collection that
/// began in the pause (GCStart), none when the pause belongs to a background collection begun before it. The heap's
/// statistics at the collection's end (GCHeapStats) give what it promoted and how large gen2 and the large and pinned
/// object heaps were: what a collection's work grows with.
/// </summary>
internal sealed class GcPauseListener : EventListener
{
    private const int GcStart = 1;
    private const int RestartEnd = 3;
    private const int HeapStats = 4;
    private const int SuspendEnd = 8;
    private const int SuspendBegin = 9;
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    private readonly ConcurrentQueue<GcPause> _pauses = new();
    private DateTime? _suspendedAt;
    private DateTime? _stoppedAt;
    private int? _generation;
    private (long Promoted, long OldGenerations)? _heap;

    /// <summary>The pauses recorded so far.</summary>
    public IReadOnlyCollection<GcPause> Pauses => _pauses;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Informational, GcKeyword);
        }
    }

    // Events arrive one at a time on the listener's dispatch thread, in the order they were written.
    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        var at = eventData.TimeStamp.ToUniversalTime();
        switch (eventData.EventId)
        {
            case SuspendBegin:
                (_suspendedAt, _stoppedAt, _generation, _heap) = (at, null, null, null);
                break;
            case SuspendEnd when _suspendedAt is not null:
                _stoppedAt = at;
                break;
            case GcStart when _suspendedAt is not null && eventData.Payload is { Count: > 1 } payload:
                _generation = Convert.ToInt32(payload[1], CultureInfo.InvariantCulture);
                break;
            case HeapStats when _suspendedAt is not null && eventData.Payload is { Count: > 7 } stats:
                // GenerationSize0, TotalPromotedSize0, GenerationSize1, TotalPromotedSize1, GenerationSize2, _, GenerationSize3 (LOH), ..., GenerationSize4 (POH) at 14.
                _heap = (Bytes(stats[1]) + Bytes(stats[3]), Bytes(stats[4]) + Bytes(stats[6]) + (stats.Count > 14 ? Bytes(stats[14]) : 0));
                break;
            case RestartEnd when _suspendedAt is { } suspendedAt:
                _pauses.Enqueue(new GcPause(suspendedAt, at - suspendedAt, (_stoppedAt ?? at) - suspendedAt, _generation, _heap));
                _suspendedAt = null;
                break;
        }
    }

    private static long Bytes(object? value) => Convert.ToInt64(value, CultureInfo.InvariantCulture);
}

/// <summary>
/// A pause of every thread of the process for the GC: when it began (UTC), how long it lasted, how much of it went to
/// stopping the threads, the generation collected, and the bytes it promoted and of the generations above gen1 after it.
/// </summary>
internal sealed record GcPause(DateTime At, TimeSpan Length, TimeSpan Suspending, int? Generation, (long Promoted, long OldGenerations)? Heap)
{
    public string Describe(DateTime since) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Length.TotalMilliseconds:F1} ms at {(At - since).TotalSeconds:F0} s ({(Generation is { } g ? $"gen{g}" : "in a background gen2")}, " +
            $"{Suspending.TotalMilliseconds:F1} ms stopping the threads{(Heap is var (promoted, old) ? $", {promoted / 1e6:F1} MB promoted, gen2 with the large and pinned objects {old / 1e6:F0} MB" : "")})");
}
