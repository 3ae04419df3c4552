using Npgsql;

namespace DistortSignals.Platform.Postgres;

/// <summary>
/// LISTEN on a connection of its own for as long as the caller runs, reconnecting after a failure. PostgreSQL
/// delivers a NOTIFY when the notifying transaction commits, and only to connections listening at that moment,
/// so <c>listening</c> runs after every (re)LISTEN: the caller looks there for what was committed while nobody
/// listened.
/// </summary>
public static class PostgresNotifications
{
    /// <param name="notified">Runs on Npgsql's thread for each notification; keep it short.</param>
    /// <param name="listening">Runs once the channels are listened to, after the first start and after every reconnection.</param>
    /// <param name="failed">Runs when the connection failed; the listener waits <paramref name="retryDelay"/> and reconnects.</param>
    public static async Task ListenAsync(
        NpgsqlDataSource dataSource,
        IReadOnlyCollection<string> channels,
        Action<NpgsqlNotificationEventArgs> notified,
        Action listening,
        Action<Exception> failed,
        TimeSpan retryDelay,
        CancellationToken stoppingToken)
    {
        var listen = string.Concat(channels.Select(c => $"LISTEN {PostgresIdentifier.Require(c, "notification channel")};"));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, notification) => notified(notification);
                await using (var command = new NpgsqlCommand(listen, connection))
                {
                    await command.ExecuteNonQueryAsync(stoppingToken);
                }

                listening();
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                failed(error);
                try
                {
                    await Task.Delay(retryDelay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
