namespace DistortSignals.Platform.Messaging;

/// <summary>The topics of DESIGN.md section 2 and the event names they carry (<c>io.distortsignals.&lt;name&gt;.v1</c>).</summary>
public static class Topics
{
    public const string PubSubName = "pubsub";

    public const string Bars = "bars";
    public const string Signals = "signals";
    public const string Decisions = "decisions";
    public const string Directives = "directives";
    public const string Executions = "executions";
    public const string Accounts = "accounts";

    public static class Events
    {
        public const string BarClosed = "bar.closed";
        public const string SignalGenerated = "signal.generated";
        public const string RiskDecided = "risk.decided";
        public const string DirectiveCreated = "directive.created";
        public const string DirectiveUpdated = "directive.updated";
        public const string ExecutionReported = "execution.reported";
        public const string AccountHeartbeat = "account.heartbeat";
        public const string BreakerChanged = "breaker.changed";
        public const string AccountState = "account.state";
    }
}
