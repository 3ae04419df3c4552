namespace DistortSignals.Operator.Kube;

/// <summary>A namespaced resource type and its REST paths (reference/kubernetes-api.md, "URLs").</summary>
public sealed record ResourceKind(string Group, string Version, string Plural, string Kind)
{
    public const string TradingGroup = "trading.distortsignals.io";
    public const string TradingVersion = "v1alpha1";

    public static readonly ResourceKind TradingStrategies = new(TradingGroup, TradingVersion, "tradingstrategies", "TradingStrategy");
    public static readonly ResourceKind BrokerAccounts = new(TradingGroup, TradingVersion, "brokeraccounts", "BrokerAccount");
    public static readonly ResourceKind ConfigMaps = new("", "v1", "configmaps", "ConfigMap");
    public static readonly ResourceKind Secrets = new("", "v1", "secrets", "Secret");
    public static readonly ResourceKind Deployments = new("apps", "v1", "deployments", "Deployment");
    public static readonly ResourceKind Leases = new("coordination.k8s.io", "v1", "leases", "Lease");
    public static readonly ResourceKind Events = new("events.k8s.io", "v1", "events", "Event");

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    private string Root => Group.Length == 0 ? $"/api/{Version}" : $"/apis/{Group}/{Version}";

    /// <summary>The collection in one namespace, or in all namespaces when <paramref name="namespace"/> is null.</summary>
    public string Collection(string? @namespace) =>
        @namespace is null ? $"{Root}/{Plural}" : $"{Root}/namespaces/{Uri.EscapeDataString(@namespace)}/{Plural}";

    public string Item(string @namespace, string name, string? subresource = null) =>
        $"{Collection(@namespace)}/{Uri.EscapeDataString(name)}" + (subresource is null ? "" : "/" + subresource);
}
