using System.Text.Json.Nodes;
using DistortSignals.Operator.Controllers;
using DistortSignals.Operator.Kube;
using DistortSignals.Operator.Tests.Fakes;
using DistortSignals.Testing;
using static DistortSignals.Operator.Tests.Fakes.OperatorHarness;

namespace DistortSignals.Operator.Tests;

/// <summary>The operator against the fake API server: a TradingStrategy's life from create to delete.</summary>
public sealed class TradingStrategyEndToEndTests : IAsyncLifetime
{
    private OperatorHarness h = null!;

    public async Task InitializeAsync()
    {
        h = await OperatorHarness.StartAsync();
        await h.ApplyAsync(Secret);
        await h.ApplyAsync(Account());
    }

    public async Task DisposeAsync() => await h.DisposeAsync();

    private JsonObject? Deployment(string strategy = "eurusd-trend") => h.Api.Get(DeploymentsPrefix, Namespace, "signals-" + strategy);

    private static string Hash(JsonObject? deployment) =>
        deployment!["spec"]!["template"]!["metadata"]!["annotations"]![TradingStrategyController.ConfigHashAnnotation]!.GetValue<string>();

    /// <summary>The Deployment controller's report that the strategy's pod is ready, through the status subresource as it writes it.</summary>
    private Task<JsonObject> ReportOneReplicaReadyAsync() => h.Kubectl.ApplyAsync(ResourceKind.Deployments, new JsonObject
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = "signals-eurusd-trend", ["namespace"] = Namespace },
        ["status"] = new JsonObject { ["readyReplicas"] = 1 },
    }, CancellationToken.None, "status");

    [Fact]
    public async Task Create_change_pause_and_delete_are_reconciled()
    {
        h.StartOperator();
        var strategy = await h.ApplyAsync(Strategy());
        var uid = strategy["metadata"]!["uid"]!.GetValue<string>();

        await Eventually.UntilAsync("the Deployment exists", () => Deployment() is not null);
        var deployment = Deployment()!;
        var annotations = deployment["spec"]!["template"]!["metadata"]!["annotations"]!;
        Assert.Equal("true", annotations["dapr.io/enabled"]!.GetValue<string>());
        Assert.Equal("signals-eurusd-trend", annotations["dapr.io/app-id"]!.GetValue<string>());
        Assert.Equal("8080", annotations["dapr.io/app-port"]!.GetValue<string>());
        Assert.Equal(1, deployment["spec"]!["replicas"]!.GetValue<int>());
        var owner = deployment["metadata"]!["ownerReferences"]![0]!;
        Assert.Equal(uid, owner["uid"]!.GetValue<string>());
        Assert.True(owner["controller"]!.GetValue<bool>());
        var configMap = h.Api.Get(ConfigMapsPrefix, Namespace, "signals-eurusd-trend");
        Assert.Contains("\"minStrength\":0.6", configMap!["data"]![TradingStrategyController.ConfigFile]!.GetValue<string>());

        await Eventually.UntilAsync("status says ConfigValid for generation 1", async () =>
        {
            var s = await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend");
            return Condition(s, "ConfigValid") == "True" && s!["status"]!["observedGeneration"]!.GetValue<long>() == 1;
        });

        Assert.Equal("Pending", (await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend"))!["status"]!["phase"]!.GetValue<string>());
        // The Deployment controller reports the pod ready: the strategy is Running.
        await ReportOneReplicaReadyAsync();
        await Eventually.UntilAsync("phase Running and Ready", async () =>
        {
            var s = await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend");
            return s!["status"]!["phase"]!.GetValue<string>() == "Running" && Condition(s, "Ready") == "True";
        });

        var firstHash = Hash(Deployment());
        await h.ApplyAsync(Strategy(extra: "  minStrength: 0.7"));
        await Eventually.UntilAsync("the change rolls out with a new config hash", () => Hash(Deployment()) != firstHash);
        Assert.Contains("\"minStrength\":0.7", h.Api.Get(ConfigMapsPrefix, Namespace, "signals-eurusd-trend")!["data"]![TradingStrategyController.ConfigFile]!.GetValue<string>());
        await Eventually.UntilAsync("observedGeneration follows to 2", async () =>
            (await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend"))!["status"]!["observedGeneration"]!.GetValue<long>() == 2);

        await h.ApplyAsync(Strategy(extra: "  minStrength: 0.7\n  paused: true"));
        await Eventually.UntilAsync("paused scales to zero", () => Deployment()!["spec"]!["replicas"]!.GetValue<int>() == 0);
        await Eventually.UntilAsync("phase Paused", async () =>
            (await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend"))!["status"]?["phase"]?.GetValue<string>() == "Paused");

        await h.Kubectl.DeleteAsync(ResourceKind.TradingStrategies, Namespace, "eurusd-trend", CancellationToken.None);
        await Eventually.UntilAsync("the owned Deployment and ConfigMap go with it", () =>
            Deployment() is null && h.Api.Get(ConfigMapsPrefix, Namespace, "signals-eurusd-trend") is null);
    }

    [Fact]
    public async Task A_Deployment_that_becomes_ready_makes_its_strategy_Running_without_waiting_for_the_resync()
    {
        h.StartOperator(resync: TimeSpan.FromMinutes(10));
        await h.ApplyAsync(Strategy());
        await Eventually.UntilAsync("the strategy is Pending with its Deployment made", async () =>
            Deployment() is not null && (await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend"))?["status"]?["phase"]?.GetValue<string>() == "Pending");

        // Only the watch on Deployments can tell the operator.
        await ReportOneReplicaReadyAsync();

        await Eventually.UntilAsync("phase Running from the Deployment's watch event", async () =>
            (await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend"))!["status"]!["phase"]!.GetValue<string>() == "Running");
    }

    [Fact]
    public async Task A_missing_account_is_named_in_ConfigValid_until_it_exists()
    {
        h.StartOperator();
        await h.ApplyAsync(Strategy(account: "mt5-live"));
        await Eventually.UntilAsync("ConfigValid is False", async () =>
            Condition(await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend"), "ConfigValid") == "False");
        var status = await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend");
        Assert.Equal("AccountNotFound", Condition(status, "ConfigValid", "reason"));
        Assert.Contains("spec.accounts[0]", Condition(status, "ConfigValid", "message"));
        Assert.Contains("mt5-live", Condition(status, "ConfigValid", "message"));
        Assert.Equal("Failed", status!["status"]!["phase"]!.GetValue<string>());
        Assert.Null(Deployment());
        await Eventually.UntilAsync("a Warning event names the field", () =>
            h.Events("AccountNotFound").Any(e => e["note"]!.GetValue<string>().Contains("spec.accounts[0]", StringComparison.Ordinal) && e["type"]!.GetValue<string>() == "Warning"));

        await h.ApplyAsync(Account("mt5-live"));
        await Eventually.UntilAsync("the resync picks up the new account", () => Deployment() is not null);
        await Eventually.UntilAsync("ConfigValid turns True", async () =>
            Condition(await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend"), "ConfigValid") == "True");
    }

    [Fact]
    public async Task An_invalid_spec_names_the_field_and_keeps_the_running_Deployment()
    {
        h.StartOperator();
        await h.ApplyAsync(Strategy());
        await Eventually.UntilAsync("the Deployment exists", () => Deployment() is not null);
        var hash = Hash(Deployment());

        await h.ApplyAsync(Strategy(extra: "  confirmTimeframe: M5"));
        await Eventually.UntilAsync("ConfigValid is False", async () =>
            Condition(await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend"), "ConfigValid") == "False");
        var status = await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend");
        Assert.Equal("InvalidSpec", Condition(status, "ConfigValid", "reason"));
        Assert.Contains("spec.confirmTimeframe", Condition(status, "ConfigValid", "message"));
        Assert.Equal(hash, Hash(Deployment()));
    }

    [Fact]
    public async Task A_second_reconcile_of_an_unchanged_world_writes_nothing()
    {
        h.StartOperator();
        h.Roles.Strategies["eurusd-trend"] = new Roles.StrategyActivity(DateTimeOffset.Parse("2025-03-03T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), 4);
        await h.ApplyAsync(Strategy());
        await Eventually.UntilAsync("status carries the signals role's stats", async () =>
            (await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend"))!["status"]?["signalsToday"]?.GetValue<long>() == 4);
        await Eventually.UntilAsync("the account is reconciled", async () =>
            Condition(await h.GetAsync(ResourceKind.BrokerAccounts, "paper-main"), "Ready") == "True");
        var status = await h.GetAsync(ResourceKind.TradingStrategies, "eurusd-trend");
        Assert.Equal("2025-03-03T10:00:00Z", status!["status"]!["lastSignal"]!.GetValue<string>());

        var writes = h.Api.Writes().Count(w => !w.Path.Contains("/leases", StringComparison.Ordinal));
        var strategyReads = Reads("tradingstrategies/eurusd-trend");
        var accountReads = Reads("brokeraccounts/paper-main");
        await Eventually.UntilAsync("three more reconciles of each object ran", () =>
            Reads("tradingstrategies/eurusd-trend") >= strategyReads + 3 && Reads("brokeraccounts/paper-main") >= accountReads + 3);
        Assert.Equal(writes, h.Api.Writes().Count(w => !w.Path.Contains("/leases", StringComparison.Ordinal)));
    }

    private int Reads(string path) => h.Api.Requests.Count(r => r.Method == "GET" && r.Path.EndsWith(path, StringComparison.Ordinal));
}
