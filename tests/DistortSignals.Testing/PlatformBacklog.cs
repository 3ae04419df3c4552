using System.Diagnostics;
using Npgsql;

namespace DistortSignals.Testing;

/// <summary>
/// What the in-process platform still has in flight in one database: events in a module's outbox not yet
/// relayed, and deliveries not yet handled. When both are empty, every event so far has had all its effects.
/// </summary>
public static class PlatformBacklog
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Each part of the backlog that is not empty, with its count; read in one statement, so from one snapshot.</summary>
    private static async Task<IReadOnlyList<string>> LeftAsync(NpgsqlDataSource database)
    {
        var outboxes = new List<string>();
        await using (var schemas = database.CreateCommand("SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox' ORDER BY 1"))
        await using (var reader = await schemas.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                outboxes.Add(reader.GetString(0));
            }
        }

        var backlog = string.Join(" UNION ALL ", outboxes.Select(s => $"SELECT '{s}.outbox unsent', count(*) FROM {s}.outbox WHERE sent_at IS NULL")
            .Append("SELECT 'platform.deliveries of ' || consumer || ', last error: ' || coalesce(max(last_error), 'none'), count(*) FROM platform.deliveries GROUP BY consumer"));
        var left = new List<string>();
        await using var command = database.CreateCommand(backlog);
        await using var rows = await command.ExecuteReaderAsync();
        while (await rows.ReadAsync())
        {
            if (rows.GetInt64(1) > 0)
            {
                left.Add($"{rows.GetString(0)}: {rows.GetInt64(1)}");
            }
        }

        return left;
    }

    /// <summary>Waits until the backlog is empty; on timeout fails with what was left.</summary>
    public static async Task WaitUntilEmptyAsync(NpgsqlDataSource database, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        while (await LeftAsync(database) is { Count: > 0 } left)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"the platform still had work in flight after {timeout.TotalSeconds} s: {string.Join("; ", left)}");
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }
}
