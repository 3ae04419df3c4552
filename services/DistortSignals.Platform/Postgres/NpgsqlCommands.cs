using Npgsql;

namespace DistortSignals.Platform.Postgres;

/// <summary>Runs a statement with named parameters, the one shape most of our SQL calls take.</summary>
internal static class NpgsqlCommands
{
    public static async Task<int> ExecuteAsync(
        this NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
