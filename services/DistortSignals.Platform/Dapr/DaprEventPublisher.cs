using DistortSignals.Platform.Messaging;
using Microsoft.Extensions.Options;

namespace DistortSignals.Platform.Dapr;

/// <summary>
/// Publishes through the sidecar with the event's subject as Kafka's <c>partitionKey</c>, so events of one
/// key stay in one partition and in order there (Redis ignores it and promises no order). The outbox relay
/// calls this in outbox order and marks each row sent after the sidecar accepted it.
/// </summary>
public sealed class DaprEventPublisher(DaprClient client, IOptions<DaprPlatformOptions> options) : IEventPublisher
{
    public const string PartitionKey = "partitionKey";

    public Task PublishEventAsync(string topic, CloudEvent cloudEvent, CancellationToken cancellationToken) =>
        client.PublishEventAsync(options.Value.PubSubName, topic, cloudEvent, Metadata(cloudEvent), cancellationToken);

    public static IReadOnlyDictionary<string, string> Metadata(CloudEvent cloudEvent) => new Dictionary<string, string> { [PartitionKey] = cloudEvent.Subject };
}
