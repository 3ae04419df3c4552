using DistortSignals.Operator.Controllers;
using DistortSignals.Operator.Kube;
using DistortSignals.Operator.Roles;
using Microsoft.Extensions.Logging;

namespace DistortSignals.Operator.Reconcile;

/// <summary>One operator replica: it campaigns for the Lease and, only while it leads, watches and reconciles.</summary>
public sealed class OperatorApp(KubeConnection connection, IRoleClient roles, OperatorOptions options, ILoggerFactory loggers) : IDisposable
{
    public const string FieldManager = "distortsignals-operator";

    private readonly KubeClient client = new(connection, FieldManager, $"distortsignals-operator/{options.Identity}", loggers.CreateLogger<KubeClient>());

    public LeaderElector? Elector { get; private set; }

    /// <summary>The reconcile pipeline; it works only while this replica leads.</summary>
    public OperatorRuntime? Runtime { get; private set; }

    public Task RunAsync(CancellationToken cancellationToken)
    {
        var events = new EventRecorder(client, FieldManager, options.Identity, loggers.CreateLogger<EventRecorder>());
        IController[] controllers =
        [
            new TradingStrategyController(client, roles, events, options, loggers.CreateLogger<TradingStrategyController>()),
            new BrokerAccountController(client, roles, events, options, loggers.CreateLogger<BrokerAccountController>()),
        ];
        Runtime = new OperatorRuntime(client, controllers, options, loggers.CreateLogger<OperatorRuntime>());
        Elector = new LeaderElector(client, options.LeaseNamespace, options.LeaseName, options.Identity, options.LeaderElection, loggers.CreateLogger<LeaderElector>());
        return Elector.RunAsync(Runtime.RunAsync, cancellationToken);
    }

    public void Dispose() => client.Dispose();
}
