namespace DistortSignals.Hub.Core;

/// <summary>The WebSocket close codes the hub uses (RFC 6455 section 7.4.1, 1013 from the IANA registry).</summary>
public static class HubCloseStatus
{
    public const int NormalClosure = 1000;
    public const int GoingAway = 1001;
    public const int InvalidMessageType = 1003;
    public const int PolicyViolation = 1008;
    public const int MessageTooBig = 1009;
    public const int TryAgainLater = 1013;
}

/// <summary>Why the hub ends a connection; the reason goes into the close frame.</summary>
public sealed record HubClose(int Status, string Reason);
