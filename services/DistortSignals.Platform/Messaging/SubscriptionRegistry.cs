namespace DistortSignals.Platform.Messaging;

/// <summary>
/// The subscriptions of this process: those registered in DI as <see cref="EventSubscription"/> plus those
/// added through <see cref="Subscribe"/>. A consumer subscribes to a topic once.
/// </summary>
public sealed class SubscriptionRegistry : ISubscriptionRegistry
{
    private readonly Lock _lock = new();
    private IReadOnlyList<EventSubscription> _subscriptions = [];

    public SubscriptionRegistry(IEnumerable<EventSubscription> subscriptions)
    {
        foreach (var subscription in subscriptions)
        {
            Subscribe(subscription);
        }
    }

    public IReadOnlyList<EventSubscription> Subscriptions => _subscriptions;

    public void Subscribe(EventSubscription subscription)
    {
        lock (_lock)
        {
            if (_subscriptions.Any(s => s.Consumer == subscription.Consumer && s.Topic == subscription.Topic))
            {
                throw new InvalidOperationException($"consumer {subscription.Consumer} already subscribes to topic {subscription.Topic}");
            }

            if (subscription is { OnCommit: not null, RunHandler: not null })
            {
                // A run handler would skip the check that keeps an event given at its commit from being handled again.
                throw new InvalidOperationException(
                    $"consumer {subscription.Consumer} on topic {subscription.Topic} has both OnCommit and RunHandler; a subscription takes one of them");
            }

            // Copy on write: readers (publisher, dispatcher) enumerate without taking the lock.
            _subscriptions = [.. _subscriptions, subscription];
        }
    }
}
