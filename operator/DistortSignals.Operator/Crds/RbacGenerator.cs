using System.Text.Json.Nodes;
using DistortSignals.Operator.Kube;

namespace DistortSignals.Operator.Crds;

/// <summary>
/// The least-privilege RBAC of the operator: exactly the verbs its requests use (reference/kubernetes-api.md,
/// "RBAC"). Server-side apply is a PATCH that may create, so applied kinds get create and patch; the operator
/// reads its children with GET (to skip an apply that would change nothing) and never lists or watches them;
/// it only reads the one credentials Secret.
/// The Lease is in the operator's own namespace, so a Role is enough for it.
/// </summary>
public static class RbacGenerator
{
    public const string Name = "distortsignals-operator";

    public static JsonNode[] Generate() =>
    [
        new JsonObject
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1",
            ["kind"] = "ClusterRole",
            ["metadata"] = new JsonObject { ["name"] = Name },
            ["rules"] = new JsonArray(
                Rule(ResourceKind.TradingGroup, ["tradingstrategies", "brokeraccounts"], ["get", "list", "watch", "patch"]),
                Rule(ResourceKind.TradingGroup, ["tradingstrategies/status", "brokeraccounts/status"], ["get", "patch"]),
                // blockOwnerDeletion on the children needs update on the owner's finalizers subresource.
                Rule(ResourceKind.TradingGroup, ["tradingstrategies/finalizers", "brokeraccounts/finalizers"], ["update"]),
                Rule("", ["configmaps"], ["get", "create", "patch"]),
                Rule("apps", ["deployments"], ["get", "list", "watch", "create", "patch"]),
                Rule("", ["secrets"], ["get"]),
                Rule("events.k8s.io", ["events"], ["create", "patch"])),
        },
        new JsonObject
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1",
            ["kind"] = "Role",
            ["metadata"] = new JsonObject { ["name"] = Name + "-leader-election" },
            ["rules"] = new JsonArray(Rule("coordination.k8s.io", ["leases"], ["get", "create", "update"])),
        },
    ];

    private static JsonObject Rule(string group, string[] resources, string[] verbs) => new()
    {
        ["apiGroups"] = new JsonArray(group),
        ["resources"] = new JsonArray([.. resources.Select(r => (JsonNode)r)]),
        ["verbs"] = new JsonArray([.. verbs.Select(v => (JsonNode)v)]),
    };
}
