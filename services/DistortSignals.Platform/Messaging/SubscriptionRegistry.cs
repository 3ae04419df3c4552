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

            // Copy on write: readers (publisher, dispatcher) enumerate without taking the lock.
            _subscriptions = [.. _subscriptions, subscription];
        }
    }
}
