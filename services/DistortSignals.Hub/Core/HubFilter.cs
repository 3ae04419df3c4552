namespace DistortSignals.Hub.Core;

/// <summary>
/// What a client wants from a channel. Each list narrows by one attribute; an empty list matches all,
/// and an event that does not carry the attribute (a bar has no strategy) is not excluded by it.
/// Names compare case-insensitively.
/// </summary>
public sealed class HubFilter
{
    private readonly HashSet<string> _symbols;
    private readonly HashSet<string> _strategies;
    private readonly HashSet<string> _accounts;

    public HubFilter(IEnumerable<string>? symbols = null, IEnumerable<string>? strategies = null, IEnumerable<string>? accounts = null)
    {
        _symbols = new HashSet<string>(symbols ?? [], StringComparer.OrdinalIgnoreCase);
        _strategies = new HashSet<string>(strategies ?? [], StringComparer.OrdinalIgnoreCase);
        _accounts = new HashSet<string>(accounts ?? [], StringComparer.OrdinalIgnoreCase);
    }

    public static HubFilter All { get; } = new();

    public bool Matches(HubEvent hubEvent) =>
        Allows(_symbols, hubEvent.Symbol) && Allows(_strategies, hubEvent.Strategy) && Allows(_accounts, hubEvent.Account);

    private static bool Allows(HashSet<string> wanted, string? value) => wanted.Count == 0 || value is null || wanted.Contains(value);
}
