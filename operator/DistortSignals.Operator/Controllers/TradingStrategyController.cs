using System.Text.Json;
using System.Text.Json.Nodes;
using DistortSignals.Core.Strategies;
using DistortSignals.Core.Validation;
using DistortSignals.Operator.Entities;
using DistortSignals.Operator.Kube;
using DistortSignals.Operator.Reconcile;
using DistortSignals.Operator.Roles;
using DistortSignals.Platform.Resources;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Operator.Controllers;

/// <summary>
/// TradingStrategy -> ConfigMap and Deployment <c>signals-&lt;name&gt;</c> (DESIGN.md section 3): the ConfigMap
/// holds the resolved strategy as a manifest the signals role loads, the Deployment runs the signals role with
/// a Dapr sidecar and the config hash on its pod template, zero replicas when paused; both are owned by the
/// strategy, so deleting it deletes them. An invalid spec leaves the last good Deployment running and says
/// which field is wrong in ConfigValid.
/// </summary>
public sealed class TradingStrategyController(KubeClient client, IRoleClient roles, EventRecorder events, OperatorOptions options, ILogger logger) : IController
{
    public const string ConfigHashAnnotation = "distortsignals.io/config-hash";
    public const string StrategyLabel = "trading.distortsignals.io/strategy";
    public const string ConfigFile = "strategy.yaml";
    public const string ConfigFolder = "/etc/distortsignals/strategy";

    public ResourceKind Kind => ResourceKind.TradingStrategies;

    /// <summary>The Deployments: their ready replicas are the strategy's phase.</summary>
    public ResourceKind? Owns => ResourceKind.Deployments;

    public static string ChildName(string strategy) => "signals-" + strategy;

    public async Task<TimeSpan?> ReconcileAsync(JsonObject resource, CancellationToken cancellationToken)
    {
        var ns = Resources.Namespace(resource);
        var name = Resources.Name(resource);
        var generation = Resources.Generation(resource);
        var old = StatusJson.Read<TradingStrategyStatus>(resource);
        var now = DateTimeOffset.UtcNow;

        var (spec, invalid) = await CheckAsync(resource, ns, name, cancellationToken);
        if (spec is null)
        {
            var (reason, message) = invalid!.Value;
            var failed = new TradingStrategyStatus
            {
                Phase = StrategyPhase.Failed,
                ObservedGeneration = generation,
                Conditions = Conditions.Set(old?.Conditions, [
                    ("Ready", false, "ConfigInvalid", "the spec is invalid; the last valid configuration keeps running"),
                    ("ConfigValid", false, reason, message)], generation, now),
                ReadyReplicas = old?.ReadyReplicas,
                LastSignal = old?.LastSignal,
                SignalsToday = old?.SignalsToday,
            };
            var previous = Conditions.Find(old?.Conditions, "ConfigValid");
            if (await Resources.WriteStatusAsync(client, Kind, resource, old, failed, cancellationToken) && previous?.Message != message)
            {
                await events.RecordAsync(resource, "Warning", reason, "Validate", message, cancellationToken);
            }

            return null;
        }

        var childName = ChildName(name);
        var configMap = ConfigMap(resource, ns, childName, spec);
        var hash = StatusJson.Sha256(configMap["data"]!.ToJsonString() + JsonSerializer.Serialize(spec, ResourceJson.Options));
        var deployment = Deployment(resource, ns, name, childName, spec, hash);

        if (!Resources.Contains(await client.GetAsync(ResourceKind.ConfigMaps, ns, childName, cancellationToken), configMap))
        {
            await client.ApplyAsync(ResourceKind.ConfigMaps, configMap, cancellationToken);
        }

        var current = await client.GetAsync(ResourceKind.Deployments, ns, childName, cancellationToken);
        if (!Resources.Contains(current, deployment))
        {
            logger.LogInformation("applying Deployment {Namespace}/{Name} (config {Hash})", ns, childName, hash[..12]);
            current = await client.ApplyAsync(ResourceKind.Deployments, deployment, cancellationToken);
        }

        var desired = spec.Paused ? 0 : spec.Replicas;
        var ready = current?["status"]?["readyReplicas"]?.GetValue<int>() ?? 0;
        var phase = spec.Paused ? StrategyPhase.Paused
            : ready >= desired ? StrategyPhase.Running
            : ready > 0 ? StrategyPhase.Degraded
            : StrategyPhase.Pending;

        StrategyActivity? activity = null;
        try
        {
            activity = await roles.GetStrategyAsync(childName, name, cancellationToken);
        }
        catch (RoleCallException e)
        {
            logger.LogDebug("signals stats of {Strategy}: {Error}", name, e.Message);
        }

        var status = new TradingStrategyStatus
        {
            Phase = phase,
            ObservedGeneration = generation,
            Conditions = Conditions.Set(old?.Conditions, [
                phase switch
                {
                    StrategyPhase.Running => ("Ready", true, "Running", $"{ready} of {desired} replicas ready"),
                    StrategyPhase.Paused => ("Ready", true, "Paused", "paused: scaled to zero replicas"),
                    _ => ("Ready", false, "ReplicasNotReady", $"{ready} of {desired} replicas ready"),
                },
                ("ConfigValid", true, "Valid", "")], generation, now),
            ReadyReplicas = ready,
            LastSignal = activity?.LastSignal ?? old?.LastSignal,
            SignalsToday = activity?.SignalsToday ?? old?.SignalsToday,
        };
        await Resources.WriteStatusAsync(client, Kind, resource, old, status, cancellationToken);
        return null;
    }

    /// <summary>Nothing to clean up: the ConfigMap and Deployment go with their owner.</summary>
    public Task FinalizeAsync(JsonObject resource, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The spec, read and validated by the same code as the host, with every account checked to exist.</summary>
    private async Task<(TradingStrategySpec? Spec, (string Reason, string Message)? Invalid)> CheckAsync(JsonObject resource, string ns, string name, CancellationToken cancellationToken)
    {
        var spec = ResourceJson.Read<TradingStrategySpec>(resource["spec"], "spec", out var problem);
        if (spec is null)
        {
            return (null, ("InvalidSpec", problem!));
        }

        var errors = TradingStrategyValidator.Validate(spec).ToList();
        if (!ResourceName.IsValid(name, ResourceName.MaxStrategyNameLength))
        {
            errors.Insert(0, new ValidationError("metadata.name", $"'{name}' is too long: the Deployment signals-{name} must stay within 63 characters"));
        }

        if (errors.Count > 0)
        {
            return (null, ("InvalidSpec", string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}"))));
        }

        for (var i = 0; i < spec.Accounts.Count; i++)
        {
            if (await client.GetAsync(ResourceKind.BrokerAccounts, ns, spec.Accounts[i], cancellationToken) is null)
            {
                return (null, ("AccountNotFound", $"spec.accounts[{i}]: BrokerAccount '{spec.Accounts[i]}' does not exist in namespace {ns}"));
            }
        }

        return (spec, null);
    }

    private static JsonObject Metadata(JsonObject owner, string ns, string childName, string strategy) => new()
    {
        ["name"] = childName,
        ["namespace"] = ns,
        ["labels"] = Labels(strategy),
        ["ownerReferences"] = Resources.OwnerReferences(owner),
    };

    private static JsonObject Labels(string strategy) => new()
    {
        ["app.kubernetes.io/name"] = "distortsignals",
        ["app.kubernetes.io/component"] = "signals",
        ["app.kubernetes.io/managed-by"] = "distortsignals-operator",
        [StrategyLabel] = strategy,
    };

    /// <summary>The resolved strategy (defaults filled in) as a TradingStrategy manifest, the form the host loads from a folder.</summary>
    private static JsonObject ConfigMap(JsonObject owner, string ns, string childName, TradingStrategySpec spec)
    {
        var manifest = new JsonObject
        {
            ["apiVersion"] = ResourceKind.TradingStrategies.ApiVersion,
            ["kind"] = ResourceKind.TradingStrategies.Kind,
            ["metadata"] = new JsonObject { ["name"] = Resources.Name(owner), ["namespace"] = ns },
            ["spec"] = JsonSerializer.SerializeToNode(spec, ResourceJson.Options),
        };
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ConfigMap",
            ["metadata"] = Metadata(owner, ns, childName, Resources.Name(owner)),
            ["data"] = new JsonObject { [ConfigFile] = manifest.ToJsonString() },
        };
    }

    private JsonObject Deployment(JsonObject owner, string ns, string strategy, string childName, TradingStrategySpec spec, string hash)
    {
        var container = new JsonObject
        {
            ["name"] = "signals",
            ["image"] = options.SignalsImage,
            ["args"] = new JsonArray("run", "--role", "signals", "--platform", "dapr", "--resources", ConfigFolder, "--urls", $"http://0.0.0.0:{options.SignalsPort}"),
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["containerPort"] = options.SignalsPort }),
            ["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "strategy", ["mountPath"] = ConfigFolder, ["readOnly"] = true }),
            ["readinessProbe"] = new JsonObject { ["httpGet"] = new JsonObject { ["path"] = "/readyz", ["port"] = "http" } },
        };
        if (spec.Resources is { } resources)
        {
            container["resources"] = JsonSerializer.SerializeToNode(resources, ResourceJson.Options);
        }

        return new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = Metadata(owner, ns, childName, strategy),
            ["spec"] = new JsonObject
            {
                ["replicas"] = spec.Paused ? 0 : spec.Replicas,
                ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { [StrategyLabel] = strategy } },
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject
                    {
                        ["labels"] = Labels(strategy),
                        ["annotations"] = new JsonObject
                        {
                            ["dapr.io/enabled"] = "true",
                            ["dapr.io/app-id"] = childName,
                            ["dapr.io/app-port"] = options.SignalsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                            [ConfigHashAnnotation] = hash,
                        },
                    },
                    ["spec"] = new JsonObject
                    {
                        ["containers"] = new JsonArray(container),
                        ["volumes"] = new JsonArray(new JsonObject { ["name"] = "strategy", ["configMap"] = new JsonObject { ["name"] = childName } }),
                    },
                },
            },
        };
    }
}
