using System.Collections.Concurrent;
using DistortSignals.Core.Execution;
using DistortSignals.Gateway.Storage;
using DistortSignals.Platform.Postgres;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DistortSignals.Gateway.Processing;

/// <summary>
/// What the long polls wait on. Every change of an account's pending directives NOTIFYs
/// <see cref="DirectiveStore.ChangedChannel"/> with the account, delivered when its transaction commits (in every
/// replica); this service LISTENs and ends the account's current <see cref="Generation"/>, which wakes its waiting
/// polls at once. A generation also caches the account's pending directives, so that a burst of polls with nothing
/// new costs one query. While the listener is down, nothing is cached and waits are cut into short slices.
/// </summary>
internal sealed partial class PendingDirectivesFeed(NpgsqlDataSource database, ILogger<PendingDirectivesFeed> logger) : BackgroundService
{
    /// <summary>How long a wait lasts without notifications before it looks again.</summary>
    public static readonly TimeSpan UnlistenedSlice = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Generation> _generations = new(StringComparer.Ordinal);
    private volatile bool _listening;

    public bool Listening => _listening;

    public Generation Current(string account) => _generations.GetOrAdd(account, _ => new Generation());

    /// <summary>Ends the account's generation: its waiters wake and the next poll reads the database.</summary>
    public void Changed(string account)
    {
        if (_generations.TryRemove(account, out var generation))
        {
            generation.End();
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PostgresNotifications.ListenAsync(
            database,
            [DirectiveStore.ChangedChannel],
            notification => Changed(notification.Payload),
            listening: () =>
            {
                // Changes committed while nobody listened: forget every cached generation.
                EndAll();
                _listening = true;
            },
            failed: error =>
            {
                _listening = false;
                EndAll();
                LogListenFailed(logger, error);
            },
            UnlistenedSlice,
            stoppingToken);

    private void EndAll()
    {
        foreach (var account in _generations.Keys)
        {
            Changed(account);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for directive changes failed; long polls look again every second until it reconnects")]
    private static partial void LogListenFailed(ILogger logger, Exception error);

    /// <summary>One account's pending directives between two changes.</summary>
    internal sealed class Generation
    {
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the account's pending directives change.</summary>
        public Task Ended => _ended.Task;

        /// <summary>The pending directives read in this generation (read before it ended, so possibly stale once it has).</summary>
        public IReadOnlyList<TradeDirective>? Snapshot { get; set; }

        public void End() => _ended.TrySetResult();
    }
}
