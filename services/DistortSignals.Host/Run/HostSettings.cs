namespace DistortSignals.Host.Run;

/// <summary>
/// What `distortsignals run` is told, from (in increasing precedence) appsettings.json,
/// appsettings.{Environment}.json, DS_-prefixed environment variables (DS_Postgres__ConnectionString) and
/// the command line. The modules read their own sections (Ingest, Feed, Hub, ...).
/// </summary>
public sealed record HostSettings
{
    /// <summary>all, or one of ingest, signals, risk, gateway, hub.</summary>
    public string Role { get; init; } = "all";

    /// <summary>inprocess (PostgreSQL-backed, one machine) or dapr (a sidecar next to each role).</summary>
    public string Platform { get; init; } = "inprocess";

    /// <summary>The folder of TradingStrategy, BrokerAccount and Secret manifests.</summary>
    public string Resources { get; init; } = "examples";

    public string Urls { get; init; } = "http://127.0.0.1:8080";

    public PostgresSettings Postgres { get; init; } = new();
}

public sealed record PostgresSettings
{
    /// <summary>An existing server; when empty the host starts a private one.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>Where the private server keeps its data; a per-user default when empty.</summary>
    public string? DataDirectory { get; init; }
}
