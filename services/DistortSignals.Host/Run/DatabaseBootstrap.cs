using DistortSignals.Platform.Postgres;
using Npgsql;

namespace DistortSignals.Host.Run;

/// <summary>
/// Gives the host its database: the configured server, or a private PostgreSQL in a folder that outlives
/// the process, so a restart keeps the history. The private server stops with the host.
/// </summary>
internal sealed class DatabaseBootstrap : IAsyncDisposable
{
    private readonly PrivatePostgresCluster? _cluster;

    private DatabaseBootstrap(string connectionString, PrivatePostgresCluster? cluster)
    {
        ConnectionString = connectionString;
        _cluster = cluster;
    }

    public string ConnectionString { get; }

    /// <summary>Where the data lives, for the start-up banner.</summary>
    public string Description => _cluster is null
        ? $"PostgreSQL at {new NpgsqlConnectionStringBuilder(ConnectionString).Host}"
        : $"private PostgreSQL in {_cluster.DataDirectory} (port {_cluster.Port})";

    public static async Task<DatabaseBootstrap> StartAsync(PostgresSettings settings, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(settings.ConnectionString))
        {
            return new DatabaseBootstrap(settings.ConnectionString, null);
        }

        var folder = settings.DataDirectory is { Length: > 0 } configured ? configured : DefaultDataDirectory();
        var cluster = await PrivatePostgresCluster.StartAsync(folder, new PrivatePostgresOptions(), cancellationToken);
        return new DatabaseBootstrap(cluster.ConnectionString, cluster);
    }

    /// <summary>
    /// The user's local data folder. Root's home is closed to the postgres user that the server must run
    /// as, so root gets /var/lib/distortsignals instead.
    /// </summary>
    internal static string DefaultDataDirectory() => Environment.UserName == "root" && !OperatingSystem.IsWindows()
        ? "/var/lib/distortsignals/postgres"
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "distortsignals", "postgres");

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
