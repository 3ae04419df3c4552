using DistortSignals.Host.Run;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DistortSignals.Host.Tests.Run;

public sealed class StatementPreparationTests(RunningPlatform platform) : IClassFixture<RunningPlatform>
{
    [Fact]
    public void A_connection_string_that_names_neither_setting_gets_the_hosts_and_keeps_the_rest()
    {
        var applied = new NpgsqlConnectionStringBuilder(
            StatementPreparation.Apply("Host=db.example;Port=6432;Username=ds;Password=s3cret;Database=trading"));

        Assert.Equal(StatementPreparation.MaxAutoPrepare, applied.MaxAutoPrepare);
        Assert.Equal(StatementPreparation.AutoPrepareMinUsages, applied.AutoPrepareMinUsages);
        Assert.Equal(("db.example", 6432, "ds", "s3cret", "trading"),
            (applied.Host, applied.Port, applied.Username, applied.Password, applied.Database));
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0", 0, StatementPreparation.AutoPrepareMinUsages)]
    [InlineData("Host=db;maxautoprepare=10;AUTO PREPARE MIN USAGES=5", 10, 5)]
    [InlineData("Host=db;AutoPrepareMinUsages=3", StatementPreparation.MaxAutoPrepare, 3)]
    public void A_setting_the_connection_string_names_keeps_its_value(string connectionString, int maxAutoPrepare, int minUsages)
    {
        var applied = new NpgsqlConnectionStringBuilder(StatementPreparation.Apply(connectionString));

        Assert.Equal((maxAutoPrepare, minUsages), (applied.MaxAutoPrepare, applied.AutoPrepareMinUsages));
    }

    [Fact]
    public async Task The_hosts_connections_prepare_a_statement_on_its_second_use()
    {
        var database = platform.Services.GetRequiredService<NpgsqlDataSource>();
        await using var connection = await database.OpenConnectionAsync();

        for (var use = 1; use <= 2; use++)
        {
            await using var repeated = new NpgsqlCommand("SELECT count(*) FROM platform.deliveries WHERE consumer = @consumer", connection);
            repeated.Parameters.AddWithValue("consumer", "nobody");
            await repeated.ExecuteScalarAsync();
        }

        await using var prepared = new NpgsqlCommand(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT count(*) FROM platform.deliveries WHERE consumer = $1'", connection);
        Assert.Equal(1L, await prepared.ExecuteScalarAsync());
    }
}
