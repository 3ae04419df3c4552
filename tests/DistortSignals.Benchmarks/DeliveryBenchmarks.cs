using System.Text.Json;
using BenchmarkDotNet.Attributes;
using DistortSignals.Host.Run;
using DistortSignals.Platform;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres;
using DistortSignals.Platform.Postgres.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using NpgsqlTypes;

namespace DistortSignals.Benchmarks;

/// <summary>
/// Event delivery of the in-process platform against a private PostgreSQL with the host's durable settings:
/// one consumer with a trivial handler, <see cref="Events"/> events spread round-robin over
/// <see cref="Subjects"/> subjects per operation. The mean is the time per event, so events/s = 1e9 / Mean(ns).
/// <see cref="OutboxToHandled"/> is the whole path a module's events take (the outbox statement that also queues
/// their deliveries, then the dispatcher); <see cref="QueuedToHandled"/> is the dispatcher alone, its deliveries
/// inserted in one statement. <see cref="Prepared"/> gives the connections the host's automatic statement preparation,
/// or leaves them without it, so that one run measures both.
/// </summary>
public class DeliveryBenchmarks
{
    public const int Events = 1000;

    private const string Schema = "bench";
    private const string Topic = "bench.events";
    private const string Consumer = "bench";

    private PrivatePostgresCluster _cluster = null!;
    private ServiceProvider _services = null!;
    private List<IHostedService> _started = [];
    private int _handled;
    private int _target;
    private TaskCompletionSource _done = new();
    private int _operation;

    [Params(5)]
    public int Subjects { get; set; }

    [Params(false, true)]
    public bool Prepared { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _cluster = PrivatePostgresCluster.StartAsync().GetAwaiter().GetResult();
        var connectionString = Prepared ? StatementPreparation.Apply(_cluster.ConnectionString) : _cluster.ConnectionString;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddInProcessPlatform();
        services.AddSchemaMigrations(Schema, [MessagingMigrations.Outbox(1), MessagingMigrations.HandledEvents(2)]);
        services.AddSingleton(new OutboxRegistration(Schema));
        services.AddSingleton(new EventSubscription(Consumer, Schema, Topic, Handle));
        _services = services.BuildServiceProvider();
        _started = [.. _services.GetRequiredService<IEnumerable<IHostedService>>()];
        foreach (var service in _started)
        {
            service.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var service in Enumerable.Reverse(_started))
        {
            service.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        _services.Dispose();
        _cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public async Task OutboxToHandled()
    {
        var done = Expect();
        var dataSource = _services.GetRequiredService<NpgsqlDataSource>();
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await _services.GetRequiredService<IOutbox>().AddRangeAsync(transaction, Schema, Topic, NextEvents(), CancellationToken.None);
            await transaction.CommitAsync();
        }

        await done;
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public async Task QueuedToHandled()
    {
        var done = Expect();
        var events = NextEvents();
        await using (var command = _services.GetRequiredService<NpgsqlDataSource>().CreateCommand("""
            INSERT INTO platform.deliveries (consumer, topic, subject, event_id, payload)
            SELECT @consumer, @topic, e.subject, e.id, e.payload
            FROM unnest(@ids, @subjects, @payloads) WITH ORDINALITY AS e(id, subject, payload, n)
            ORDER BY e.n
            """))
        {
            command.Parameters.AddWithValue("consumer", Consumer);
            command.Parameters.AddWithValue("topic", Topic);
            command.Parameters.AddWithValue("ids", events.Select(e => e.Id).ToArray());
            command.Parameters.AddWithValue("subjects", events.Select(e => e.Subject).ToArray());
            command.Parameters.AddWithValue("payloads", NpgsqlDbType.Array | NpgsqlDbType.Jsonb,
                events.Select(e => JsonSerializer.Serialize(e with { Topic = Topic }, PlatformJson.Options)).ToArray());
            await command.ExecuteNonQueryAsync();
        }

        _services.GetRequiredService<DeliveryDispatcher>().Wake();
        await done;
    }

    private Task<DeliveryOutcome> Handle(CloudEvent cloudEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _handled) == Volatile.Read(ref _target))
        {
            _done.TrySetResult();
        }

        return Task.FromResult(DeliveryOutcome.Success);
    }

    /// <summary>The task that completes when the handler has seen the next <see cref="Events"/> events.</summary>
    private Task Expect()
    {
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _target, Volatile.Read(ref _handled) + Events);
        return _done.Task;
    }

    private List<CloudEvent> NextEvents()
    {
        var operation = ++_operation;
        return [.. Enumerable.Range(0, Events).Select(i => CloudEvent.Create(
            $"{operation}-{i}", "bench", Topics.Events.BarClosed, $"SUBJECT{i % Subjects}", DateTimeOffset.UnixEpoch, new { n = i }))];
    }
}
