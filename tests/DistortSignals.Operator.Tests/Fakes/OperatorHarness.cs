using System.Text;
using System.Text.Json.Nodes;
using DistortSignals.Operator.Kube;
using DistortSignals.Operator.Reconcile;
using DistortSignals.Operator.Roles;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistortSignals.Operator.Tests.Fakes;

/// <summary>The fake API server, the fake roles and operator replicas with test timings, plus helpers to write resources like kubectl.</summary>
public sealed class OperatorHarness : IAsyncDisposable
{
    public const string Namespace = "trading";
    public const string StrategiesPrefix = "apis/trading.distortsignals.io/v1alpha1/tradingstrategies";
    public const string AccountsPrefix = "apis/trading.distortsignals.io/v1alpha1/brokeraccounts";
    public const string DeploymentsPrefix = "apis/apps/v1/deployments";
    public const string ConfigMapsPrefix = "api/v1/configmaps";
    public const string EventsPrefix = "apis/events.k8s.io/v1/events";

    private readonly List<(OperatorApp App, CancellationTokenSource Stop, Task Run)> replicas = [];
    private readonly HttpClient rolesHttp = new();

    private OperatorHarness(FakeKubeApiServer api, FakeRoles roles)
    {
        Api = api;
        Roles = roles;
        Kubectl = new KubeClient(KubeConnection.ForServer(api.Url), "kubectl", "kubectl/test", NullLogger.Instance);
    }

    public FakeKubeApiServer Api { get; }

    public FakeRoles Roles { get; }

    /// <summary>A client standing in for a person with kubectl.</summary>
    public KubeClient Kubectl { get; }

    public static async Task<OperatorHarness> StartAsync() => new(await FakeKubeApiServer.StartAsync(), await FakeRoles.StartAsync());

    /// <summary>Test timings: fast resync, short lease, quick backoff; a watch test passes a long resync so that only the watch can deliver.</summary>
    public static OperatorOptions Options(string identity, TimeSpan? resync = null) => new()
    {
        Identity = identity,
        LeaseNamespace = Namespace,
        ResyncPeriod = resync ?? TimeSpan.FromMilliseconds(400),
        LeaderElection = new LeaderElectionOptions { LeaseDuration = TimeSpan.FromSeconds(2), RenewDeadline = TimeSpan.FromSeconds(1.5), RetryPeriod = TimeSpan.FromMilliseconds(200) },
        Watch = new WatchOptions { MinTimeoutSeconds = 5, MaxTimeoutSeconds = 10, IdleTimeout = TimeSpan.FromSeconds(2), InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(500) },
        ErrorBackoff = TimeSpan.FromMilliseconds(50),
        MaxErrorBackoff = TimeSpan.FromMilliseconds(500),
    };

    public OperatorApp StartOperator(string identity = "operator-a", TimeSpan? resync = null)
    {
        var roles = new DaprRoleClient(rolesHttp, Roles.Url, FakeRoles.AdminKey);
        var app = new OperatorApp(KubeConnection.ForServer(Api.Url), roles, Options(identity, resync), NullLoggerFactory.Instance);
        var stop = new CancellationTokenSource();
        replicas.Add((app, stop, app.RunAsync(stop.Token)));
        return app;
    }

    public async Task StopOperatorAsync(OperatorApp app)
    {
        var replica = replicas.Single(r => r.App == app);
        await replica.Stop.CancelAsync();
        await Settle(replica.Run);
    }

    public Task<JsonObject> ApplyAsync(string yaml)
    {
        var document = Platform.Resources.YamlManifestReader.Read(yaml, "test").Single();
        var body = document.Body;
        body["metadata"]!["namespace"] = Namespace;
        var kind = document.Kind switch
        {
            "TradingStrategy" => ResourceKind.TradingStrategies,
            "BrokerAccount" => ResourceKind.BrokerAccounts,
            "Secret" => ResourceKind.Secrets,
            _ => throw new ArgumentException(document.Kind),
        };
        if (body["stringData"] is JsonObject stringData)
        {
            body["data"] = new JsonObject(stringData.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)Convert.ToBase64String(Encoding.UTF8.GetBytes(p.Value!.GetValue<string>())))));
            body.Remove("stringData");
        }

        return Kubectl.ApplyAsync(kind, body, CancellationToken.None);
    }

    public async Task<JsonObject?> GetAsync(ResourceKind kind, string name) => await Kubectl.GetAsync(kind, Namespace, name, CancellationToken.None);

    public static string? Condition(JsonObject? resource, string type, string field = "status") =>
        (resource?["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == type)?[field]?.GetValue<string>();

    public IReadOnlyList<JsonObject> Events(string reason) =>
        [.. Api.All(EventsPrefix).Where(e => e["reason"]?.GetValue<string>() == reason)];

    public async ValueTask DisposeAsync()
    {
        foreach (var (app, stop, run) in replicas)
        {
            await stop.CancelAsync();
            await Settle(run);
            app.Dispose();
        }

        Kubectl.Dispose();
        rolesHttp.Dispose();
        await Api.DisposeAsync();
        await Roles.DisposeAsync();
    }

    private static async Task Settle(Task run)
    {
        try
        {
            await run.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public const string Secret = """
        apiVersion: v1
        kind: Secret
        metadata:
          name: paper-main-ea
        stringData:
          apiKey: ds_test-key-paper-main
        """;

    public static string Account(string name = "paper-main", string extra = "") => $"""
        apiVersion: trading.distortsignals.io/v1alpha1
        kind: BrokerAccount
        metadata:
          name: {name}
        spec:
          broker: Paper
          credentialsSecretRef: {"{"}name: paper-main-ea, key: apiKey{"}"}
          instruments:
            - {"{"}symbol: EURUSD, contractSize: 100000, pipSize: 0.0001, pipValuePerLot: 10{"}"}
        {extra}
        """;

    public static string Strategy(string name = "eurusd-trend", string extra = "", string account = "paper-main") => $"""
        apiVersion: trading.distortsignals.io/v1alpha1
        kind: TradingStrategy
        metadata:
          name: {name}
        spec:
          symbols: [EURUSD]
          timeframe: H1
          accounts: [{account}]
        {extra}
        """;
}
