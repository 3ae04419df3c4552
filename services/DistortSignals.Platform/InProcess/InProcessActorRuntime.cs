using System.Collections.Concurrent;
using System.Text.Json;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.Postgres;
using DistortSignals.Platform.State;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace DistortSignals.Platform.InProcess;

/// <summary>
/// Virtual actors in this process, with Dapr's turn-based semantics: one turn at a time per (type, id) —
/// methods and reminders alike, so they never interleave — while different ids run in parallel. An instance
/// is created and activated on its first call and kept until idle for <see cref="InProcessPlatformOptions.ActorIdleTimeout"/>.
/// After each successful turn the state manager saves its changes in one transaction; a turn that throws
/// discards them. Turns are not reentrant: an actor that calls itself waits for itself.
/// <para>
/// Reminders live in <c>platform.reminders</c> and are fired by the background loop of whichever runtime
/// claims them (a lease), so they survive restarts. A failing reminder is logged and its schedule goes on;
/// missed periods are not replayed one by one, the next fire is one period after now.
/// </para>
/// </summary>
public sealed class InProcessActorRuntime : BackgroundService, IActorInvoker, IActorReminders
{
    private const int ReminderBatchSize = 100;

    private readonly NpgsqlDataSource _dataSource;
    private readonly InProcessPlatformOptions _options;
    private readonly ILogger<InProcessActorRuntime> _logger;
    private readonly Dictionary<string, ActorRegistration> _registrations;
    private readonly ActorActivations _activations;
    private readonly ConcurrentDictionary<Task, bool> _firing = new();
    private readonly AsyncSignal _remindersChanged = new();

    public InProcessActorRuntime(
        NpgsqlDataSource dataSource,
        IStateStore stateStore,
        IEnumerable<ActorRegistration> registrations,
        IServiceProvider services,
        IOptions<InProcessPlatformOptions> options,
        ILogger<InProcessActorRuntime> logger)
    {
        _dataSource = dataSource;
        _options = options.Value;
        _logger = logger;
        _registrations = registrations.ToDictionary(r => r.ActorType);
        _activations = new ActorActivations(this, services, (type, id) => new ActorStateManager(stateStore, type, id));
    }

    /// <summary>Actors with an instance in memory (for metrics; idle ones are deactivated).</summary>
    public int ActiveActorCount => _activations.Count;

    public Task<JsonElement?> InvokeMethodAsync(string actorType, string actorId, string method, JsonElement? argument, CancellationToken cancellationToken) =>
        RunTurnAsync(actorType, actorId, actor => actor.InvokeMethodAsync(method, argument, cancellationToken), cancellationToken);

    public async Task RegisterReminderAsync(
        string actorType, string actorId, string name, JsonElement? data, TimeSpan dueTime, TimeSpan period, CancellationToken cancellationToken)
    {
        Registration(actorType);
        await using var command = _dataSource.CreateCommand("""
            INSERT INTO platform.reminders (actor_type, actor_id, name, data, due_at, period)
            VALUES (@type, @id, @name, @data, clock_timestamp() + @dueTime, @period)
            ON CONFLICT (actor_type, actor_id, name) DO UPDATE
            SET data = excluded.data, due_at = excluded.due_at, period = excluded.period, locked_until = NULL
            """);
        command.Parameters.AddWithValue("type", actorType);
        command.Parameters.AddWithValue("id", actorId);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("data", NpgsqlDbType.Jsonb, data is { } json ? json.GetRawText() : DBNull.Value);
        command.Parameters.AddWithValue("dueTime", dueTime < TimeSpan.Zero ? TimeSpan.Zero : dueTime);
        command.Parameters.AddWithValue("period", NpgsqlDbType.Interval, period > TimeSpan.Zero ? period : DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
        _remindersChanged.Set();
    }

    public async Task UnregisterReminderAsync(string actorType, string actorId, string name, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(null, "DELETE FROM platform.reminders WHERE actor_type = @type AND actor_id = @id AND name = @name",
            cancellationToken, ("type", actorType), ("id", actorId), ("name", name));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    var wait = await FireDueRemindersAsync(stoppingToken);
                    _activations.DeactivateIdle(_options.ActorIdleTimeout);
                    await _remindersChanged.WaitAsync(wait, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception error)
                {
                    _logger.LogError(error, "Reading the due reminders failed; trying again");
                    await _remindersChanged.WaitAsync(_options.PollInterval, CancellationToken.None);
                }
            }
        }
        finally
        {
            await Task.WhenAll(_firing.Keys);
        }
    }

    private ActorRegistration Registration(string actorType) =>
        _registrations.GetValueOrDefault(actorType) ?? throw new InvalidOperationException($"actor type {actorType} is not registered");

    private Task<T> RunTurnAsync<T>(string actorType, string actorId, Func<Actor, Task<T>> call, CancellationToken cancellationToken) =>
        _activations.RunTurnAsync(Registration(actorType), actorId, call, cancellationToken);

    /// <summary>Claims the due reminders of our actor types and starts firing them; returns how long to wait before looking again.</summary>
    private async Task<TimeSpan> FireDueRemindersAsync(CancellationToken stoppingToken)
    {
        if (_registrations.Count == 0)
        {
            return _options.PollInterval;
        }

        var types = _registrations.Keys.ToArray();
        await using (var claim = _dataSource.CreateCommand("""
            UPDATE platform.reminders r SET locked_until = clock_timestamp() + @lease
            FROM (SELECT actor_type, actor_id, name FROM platform.reminders
                  WHERE actor_type = ANY(@types) AND due_at <= clock_timestamp()
                    AND (locked_until IS NULL OR locked_until < clock_timestamp())
                  ORDER BY due_at LIMIT @limit FOR UPDATE SKIP LOCKED) due
            WHERE r.actor_type = due.actor_type AND r.actor_id = due.actor_id AND r.name = due.name
            RETURNING r.actor_type, r.actor_id, r.name, r.data::text, r.due_at, r.period
            """))
        {
            claim.Parameters.AddWithValue("lease", _options.ReminderLease);
            claim.Parameters.AddWithValue("types", types);
            claim.Parameters.AddWithValue("limit", ReminderBatchSize);
            await using var reader = await claim.ExecuteReaderAsync(stoppingToken);
            while (await reader.ReadAsync(stoppingToken))
            {
                var reminder = new DueReminder(
                    reader.GetString(0), reader.GetString(1), reader.GetString(2),
                    reader.IsDBNull(3) ? null : JsonSerializer.Deserialize<JsonElement>(reader.GetString(3)),
                    reader.GetDateTime(4), reader.IsDBNull(5) ? null : reader.GetTimeSpan(5));
                var firing = FireAsync(reminder, stoppingToken);
                _firing[firing] = true;
                _ = firing.ContinueWith(done => _firing.TryRemove(done, out _), TaskScheduler.Default);
            }
        }

        await using var next = _dataSource.CreateCommand("""
            SELECT min(due_at) - clock_timestamp() FROM platform.reminders
            WHERE actor_type = ANY(@types) AND (locked_until IS NULL OR locked_until < clock_timestamp())
            """);
        next.Parameters.AddWithValue("types", types);
        return await next.ExecuteScalarAsync(stoppingToken) is TimeSpan untilNext && untilNext < _options.PollInterval
            ? untilNext
            : _options.PollInterval;
    }

    private async Task FireAsync(DueReminder reminder, CancellationToken stoppingToken)
    {
        try
        {
            try
            {
                await RunTurnAsync(reminder.ActorType, reminder.ActorId, async actor =>
                {
                    await actor.ReceiveReminderAsync(reminder.Name, reminder.Data, stoppingToken);
                    return true;
                }, stoppingToken);
            }
            catch (Exception error) when (!stoppingToken.IsCancellationRequested)
            {
                _logger.LogError(error, "Reminder {Name} of actor {ActorType}/{ActorId} failed; its schedule continues",
                    reminder.Name, reminder.ActorType, reminder.ActorId);
            }

            stoppingToken.ThrowIfCancellationRequested();
            await RescheduleAsync(reminder, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the lease runs out and the reminder fires again, here after a restart or elsewhere.
        }
        catch (Exception error)
        {
            _logger.LogError(error, "Rescheduling reminder {Name} of actor {ActorType}/{ActorId} failed; it fires again when its lease runs out",
                reminder.Name, reminder.ActorType, reminder.ActorId);
        }
    }

    /// <summary>
    /// Deletes a one-shot reminder or moves a periodic one to its next time, unless the callback registered or
    /// removed it meanwhile (then the stored due time is no longer the one we fired).
    /// </summary>
    private async Task RescheduleAsync(DueReminder reminder, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        const string Match = "actor_type = @type AND actor_id = @id AND name = @name AND due_at = @dueAt";
        await connection.ExecuteAsync(null, reminder.Period is null
                ? $"DELETE FROM platform.reminders WHERE {Match}"
                : $"""
                   UPDATE platform.reminders
                   SET due_at = CASE WHEN due_at + period > clock_timestamp() THEN due_at + period ELSE clock_timestamp() + period END,
                       locked_until = NULL
                   WHERE {Match}
                   """,
            cancellationToken, ("type", reminder.ActorType), ("id", reminder.ActorId), ("name", reminder.Name), ("dueAt", reminder.DueAt));
    }

    private sealed record DueReminder(string ActorType, string ActorId, string Name, JsonElement? Data, DateTime DueAt, TimeSpan? Period);
}
