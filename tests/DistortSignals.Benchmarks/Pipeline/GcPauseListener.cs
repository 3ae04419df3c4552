using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace DistortSignals.Benchmarks.Pipeline;

/// <summary>
/// Records when the runtime stopped this process's threads for a garbage collection and for how long, so that the
/// slowest deliveries of a run can be read beside the pauses. A pause runs from the runtime's suspension of threads
/// (GCSuspendEEBegin) to their restart (GCRestartEEEnd), as the runtime's GC events define it.
/// </summary>
internal sealed class GcPauseListener : EventListener
{
    private const int SuspendBegin = 9;
    private const int RestartEnd = 3;
    private const EventKeywords GcKeyword = (EventKeywords)0x1;

    private readonly ConcurrentQueue<(DateTime At, TimeSpan Length)> _pauses = new();
    private DateTime? _suspendedAt;

    /// <summary>The pauses recorded so far: when each began (UTC) and how long it lasted.</summary>
    public IReadOnlyCollection<(DateTime At, TimeSpan Length)> Pauses => _pauses;

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
        switch (eventData.EventId)
        {
            case SuspendBegin:
                _suspendedAt = eventData.TimeStamp.ToUniversalTime();
                break;
            case RestartEnd when _suspendedAt is { } suspendedAt:
                _pauses.Enqueue((suspendedAt, eventData.TimeStamp.ToUniversalTime() - suspendedAt));
                _suspendedAt = null;
                break;
        }
    }
}
