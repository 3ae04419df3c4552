using System.Text.Json;
using System.Text.Json.Nodes;
using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Messaging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DistortSignals.Platform.Dapr;

/// <summary>
/// The app side of Dapr pub/sub (dapr-http-api.md section 1): the <c>/dapr/subscribe</c> document built from
/// the <see cref="ISubscriptionRegistry"/>, and the delivery of a CloudEvent to the same handlers the
/// in-process platform calls, each in its module's transaction with the handled-event record, so a
/// redelivered event (Dapr delivers at least once) has one effect.
/// <para>
/// Dapr takes one subscription per (pub/sub, topic) and app, so all consumers of a topic in this process share
/// one route, <c>/dapr/events/{topic}</c>, and the answer combines theirs: RETRY if any asked for it (those that
/// succeeded recognise the redelivery), otherwise DROP if any dropped (it goes to the dead-letter topic), otherwise SUCCESS.
/// </para>
/// </summary>
public sealed class DaprDeliveries(
    ISubscriptionRegistry registry, NpgsqlDataSource dataSource, IOptions<DaprPlatformOptions> options, DaprMetrics metrics, ILogger<DaprDeliveries> logger)
{
    public const string RoutePrefix = "/dapr/events/";

    public static string Route(string topic) => RoutePrefix + Uri.EscapeDataString(topic);

    /// <summary>The array the sidecar reads once at start-up: <c>{pubsubname, topic, route, deadLetterTopic}</c> per subscribed topic.</summary>
    public JsonArray SubscribeDocument()
    {
        var document = new JsonArray();
        foreach (var topic in registry.Subscriptions.GroupBy(s => s.Topic))
        {
            var entry = new JsonObject { ["pubsubname"] = options.Value.PubSubName, ["topic"] = topic.Key, ["route"] = Route(topic.Key) };
            var deadLetterTopics = topic.Select(s => s.DeadLetterTopic).OfType<string>().Distinct().ToList();
            if (deadLetterTopics.Count > 1)
            {
                logger.LogWarning("Consumers of topic {Topic} name different dead-letter topics ({DeadLetterTopics}); Dapr takes one per topic, {Chosen}",
                    topic.Key, string.Join(", ", deadLetterTopics), deadLetterTopics[0]);
            }

            if (deadLetterTopics.Count > 0)
            {
                entry["deadLetterTopic"] = deadLetterTopics[0];
            }

            document.Add(entry);
        }

        return document;
    }

    /// <summary>Hands one delivered event to every consumer of <paramref name="topic"/>; null when nobody here subscribes (answered 404).</summary>
    public async Task<DeliveryOutcome?> DeliverAsync(string topic, Stream body, CancellationToken cancellationToken)
    {
        var subscriptions = registry.Subscriptions.Where(s => s.Topic == topic).ToList();
        if (subscriptions.Count == 0)
        {
            return null;
        }

        CloudEvent cloudEvent;
        try
        {
            cloudEvent = await JsonSerializer.DeserializeAsync<CloudEvent>(body, PlatformJson.Options, cancellationToken)
                ?? throw new JsonException("the body is null");
        }
        catch (JsonException malformed)
        {
            // Can never succeed: dropped, so the sidecar moves it to the dead-letter topic instead of retrying forever.
            logger.LogWarning("A malformed event on topic {Topic} is dropped: {Error}", topic, malformed.Message);
            return Count(topic, DeliveryOutcome.Drop);
        }

        cloudEvent = cloudEvent with { Topic = topic };
        var outcomes = new List<DeliveryOutcome>(subscriptions.Count);
        foreach (var subscription in subscriptions)
        {
            outcomes.Add(await HandleAsync(subscription, cloudEvent, cancellationToken));
        }

        return Count(topic, outcomes.Contains(DeliveryOutcome.Retry) ? DeliveryOutcome.Retry
            : outcomes.Contains(DeliveryOutcome.Drop) ? DeliveryOutcome.Drop
            : DeliveryOutcome.Success);
    }

    /// <summary>The body Dapr reads: <c>{"status":"SUCCESS|RETRY|DROP"}</c>.</summary>
    public static JsonObject Answer(DeliveryOutcome outcome) => new()
    {
        ["status"] = outcome switch
        {
            DeliveryOutcome.Success => "SUCCESS",
            DeliveryOutcome.Drop => "DROP",
            _ => "RETRY",
        },
    };

    private async Task<DeliveryOutcome> HandleAsync(EventSubscription subscription, CloudEvent cloudEvent, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var outcome = await DeliveryDispatcher.HandleOnceAsync(transaction, subscription, cloudEvent, cancellationToken);
            if (outcome == DeliveryOutcome.Success)
            {
                await transaction.CommitAsync(cancellationToken);
            }
            else
            {
                logger.LogWarning("Consumer {Consumer} answered {Outcome} for event {EventId} on {Topic}",
                    subscription.Consumer, outcome, cloudEvent.Id, subscription.Topic);
            }

            return outcome;
        }
        catch (Exception error) when (error is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogError(error, "Consumer {Consumer} failed on event {EventId} on {Topic}; the sidecar delivers it again",
                subscription.Consumer, cloudEvent.Id, subscription.Topic);
            return DeliveryOutcome.Retry;
        }
    }

    private DeliveryOutcome Count(string topic, DeliveryOutcome outcome)
    {
        metrics.Deliveries.Add(1, new KeyValuePair<string, object?>("topic", topic), new KeyValuePair<string, object?>("outcome", outcome.ToString()));
        return outcome;
    }
}
