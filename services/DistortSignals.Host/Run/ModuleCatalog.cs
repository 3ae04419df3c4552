using DistortSignals.Gateway;
using DistortSignals.Hub;
using DistortSignals.Ingest;
using DistortSignals.Platform.Hosting;
using DistortSignals.Risk;
using DistortSignals.Signals;

namespace DistortSignals.Host.Run;

/// <summary>Which modules a role runs. `all` runs every module in one process.</summary>
internal static class ModuleCatalog
{
    private static readonly Dictionary<string, Func<IModule>> Modules = new(StringComparer.Ordinal)
    {
        ["ingest"] = () => new IngestModule(),
        ["signals"] = () => new SignalsModule(),
        ["risk"] = () => new RiskModule(),
        ["gateway"] = () => new GatewayModule(),
        ["hub"] = () => new HubModule(),
    };

    public static readonly string[] Roles = ["all", .. Modules.Keys];

    public static IReadOnlyList<IModule> For(string role)
    {
        if (role == "all")
        {
            return [.. Modules.Values.Select(create => create())];
        }

        return Modules.TryGetValue(role, out var module)
            ? [module()]
            : throw new ArgumentException($"--role: '{role}' is not one of {string.Join(", ", Roles)}");
    }
}
