using System.Collections.Concurrent;
using System.Text.Json;
using DistortSignals.Platform.Actors;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Messaging;
using DistortSignals.Platform.Postgres.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DistortSignals.Platform.Tests.Conformance;

/// <summary>
/// A small module of the kind the roles are: an outbox and handled events in its own schema, consumers that
/// record their effects in the handler's transaction, and a counter actor with a reminder. It registers itself
/// the way a role does, so the same module runs on either platform. What the tests observe goes to the
/// <see cref="ConformanceProbe"/>, which outlives restarts.
/// </summary>
internal static class ConformanceModule
{
    public const string Schema = "conformance";
    public const string Topic = "fills";
    public const string DeadLetterTopic = "fills-dead";
    public const string Consumer = "ledger";
    public const string Graveyard = "graveyard";
    public const string ActorType = "counter";

    private static readonly Migration[] Migrations =
    [
        MessagingMigrations.Outbox(1),
        MessagingMigrations.HandledEvents(2),
        new(3, "effects", "CREATE TABLE effects (n bigserial PRIMARY KEY, consumer text NOT NULL, event_id text NOT NULL, subject text NOT NULL)"),
    ];

    public static void Register(IServiceCollection services, ConformanceProbe probe)
    {
        services.AddSingleton(probe);
        services.AddSchemaMigrations(Schema, Migrations);
        services.AddSingleton(new OutboxRegistration(Schema));
        services.AddSingleton(new EventSubscription(Consumer, Schema, Topic, (e, t, c) => HandleAsync(probe, Consumer, e, t, c), DeadLetterTopic));
        services.AddSingleton(new EventSubscription(Graveyard, Schema, DeadLetterTopic, (e, t, c) => HandleAsync(probe, Graveyard, e, t, c)));
        services.AddSingleton(new ActorRegistration(ActorType, (host, provider) => new CounterActor(host, provider.GetRequiredService<ConformanceProbe>())));
    }

    public static CloudEvent Fill(string id, string subject, int n = 0) =>
        CloudEvent.Create(id, "conformance", "fill.reported", subject, DateTimeOffset.UnixEpoch.AddSeconds(n), new { n });

    private static async Task<DeliveryOutcome> HandleAsync(ConformanceProbe probe, string consumer, CloudEvent cloudEvent, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var attempt = probe.Calls.AddOrUpdate($"{consumer}:{cloudEvent.Id}", 1, (_, n) => n + 1);
        var outcome = probe.Behaviour(consumer, cloudEvent, attempt);
        if (outcome != DeliveryOutcome.Success)
        {
            return outcome;
        }

        await using var command = new NpgsqlCommand($"INSERT INTO {Schema}.effects (consumer, event_id, subject) VALUES (@consumer, @id, @subject)", transaction.Connection, transaction);
        command.Parameters.AddWithValue("consumer", consumer);
        command.Parameters.AddWithValue("id", cloudEvent.Id);
        command.Parameters.AddWithValue("subject", cloudEvent.Subject);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return DeliveryOutcome.Success;
    }

    /// <summary>
    /// <c>add</c> adds its argument to the stored count, slowly, noting how many calls of its id run at once;
    /// <c>get</c> returns the count; <c>remind</c> registers a one-shot reminder with its argument as data.
    /// </summary>
    private sealed class CounterActor(ActorHost host, ConformanceProbe probe) : Actor(host)
    {
        public override async Task<JsonElement?> InvokeMethodAsync(string method, JsonElement? argument, CancellationToken cancellationToken)
        {
            switch (method)
            {
                case "add":
                    var running = probe.Running.AddOrUpdate(Id, 1, (_, n) => n + 1);
                    probe.MaxRunning.AddOrUpdate(Id, running, (_, n) => Math.Max(n, running));
                    try
                    {
                        await Task.Delay(10, cancellationToken);
                        var (_, count) = await StateManager.TryGetStateAsync<int>("count", cancellationToken);
                        count += argument?.GetInt32() ?? 1;
                        await StateManager.SetStateAsync("count", count, cancellationToken);
                        return JsonSerializer.SerializeToElement(count);
                    }
                    finally
                    {
                        probe.Running.AddOrUpdate(Id, 0, (_, n) => n - 1);
                    }

                case "get":
                    return JsonSerializer.SerializeToElement((await StateManager.TryGetStateAsync<int>("count", cancellationToken)).Value);
                case "remind":
                    await RegisterReminderAsync("ping", argument, TimeSpan.FromMilliseconds(300), TimeSpan.Zero, cancellationToken);
                    return null;
                default:
                    throw new ActorMethodNotFoundException(ActorType, method);
            }
        }

        public override Task ReceiveReminderAsync(string reminderName, JsonElement? data, CancellationToken cancellationToken)
        {
            // Re-serialised, so the stored form (jsonb adds spaces) does not matter.
            probe.Reminders.Enqueue((Id, reminderName, data is { } json ? JsonSerializer.Serialize(json) : null));
            return Task.CompletedTask;
        }
    }
}

/// <summary>What the conformance module saw, and how its consumers answer (by default: success).</summary>
internal sealed class ConformanceProbe
{
    /// <summary>Handler runs per "consumer:event id".</summary>
    public ConcurrentDictionary<string, int> Calls { get; } = new();

    /// <summary>Decides a handler's outcome from (consumer, event, attempt number of this handler for this event).</summary>
    public Func<string, CloudEvent, int, DeliveryOutcome> Behaviour { get; set; } = (_, _, _) => DeliveryOutcome.Success;

    public ConcurrentDictionary<string, int> Running { get; } = new();

    public ConcurrentDictionary<string, int> MaxRunning { get; } = new();

    public ConcurrentQueue<(string ActorId, string Name, string? Data)> Reminders { get; } = new();
}
