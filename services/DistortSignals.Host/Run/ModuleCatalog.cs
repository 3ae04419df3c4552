using DistortSignals.Hub;
using DistortSignals.Ingest;
using DistortSignals.Platform.Hosting;
using DistortSignals.Risk;
using DistortSignals.Signals;

namespace DistortSignals.Host.Run;

/// <summary>Which modules a role runs. `all` runs every module in one process.</summary>
internal static class ModuleCatalog
{
    public static readonly string[] Roles = ["all", "ingest", "signals", "risk", "gateway", "hub"];

    /// <summary>The roles whose modules exist so far; the others come with their issues.</summary>
    private static readonly Dictionary<string, Func<IModule>> Available = new(StringComparer.Ordinal)
    {
        ["ingest"] = () => new IngestModule(),
        ["signals"] = () => new SignalsModule(),
        ["risk"] = () => new RiskModule(),
        ["hub"] = () => new HubModule(),
    };

    public static IReadOnlyList<IModule> For(string role)
    {
        if (!Roles.Contains(role))
        {
            throw new ArgumentException($"--role: '{role}' is not one of {string.Join(", ", Roles)}");
        }

        if (role == "all")
        {
            return [.. Available.Values.Select(create => create())];
        }

        return Available.TryGetValue(role, out var module)
            ? [module()]
            : throw new ArgumentException($"--role: the {role} role is not built yet; available: all, {string.Join(", ", Available.Keys)}");
    }
}
