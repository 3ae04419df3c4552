using DistortSignals.Operator.Kube;

namespace DistortSignals.Operator.Reconcile;

/// <summary>The operator's settings; every timing has the production default and tests shorten them.</summary>
public sealed record OperatorOptions
{
    /// <summary>The namespace to watch; null watches all namespaces.</summary>
    public string? WatchNamespace { get; init; }

    public string LeaseNamespace { get; init; } = "default";

    public string LeaseName { get; init; } = "distortsignals-operator";

    /// <summary>This replica's name in the Lease and in events (the pod name in a cluster).</summary>
    public string Identity { get; init; } = Environment.MachineName;

    /// <summary>Every object is reconciled at least this often, which also catches breaker changes.</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromSeconds(30);

    public LeaderElectionOptions LeaderElection { get; init; } = new();

    public WatchOptions Watch { get; init; } = new();

    public int Workers { get; init; } = 2;

    public TimeSpan ErrorBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxErrorBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The image of the signals Deployments (the distortsignals host).</summary>
    public string SignalsImage { get; init; } = "ghcr.io/distortsignals/distortsignals:latest";

    public int SignalsPort { get; init; } = 8080;

    public string RiskAppId { get; init; } = "distortsignals-risk";

    public string GatewayAppId { get; init; } = "distortsignals-gateway";
}
