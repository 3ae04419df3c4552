namespace DistortSignals.Platform.Messaging;

/// <summary>
/// Declares that a module's schema has an outbox (registered in DI by the module), so the platform's relay
/// publishes what the module adds through <see cref="IOutbox"/>.
/// </summary>
public sealed record OutboxRegistration(string Schema);
