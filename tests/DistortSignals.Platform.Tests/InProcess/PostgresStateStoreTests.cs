using DistortSignals.Platform.InProcess;
using DistortSignals.Platform.Postgres.Migrations;
using DistortSignals.Platform.State;
using DistortSignals.Testing;
using Npgsql;

namespace DistortSignals.Platform.Tests.InProcess;

public sealed class PostgresStateStoreTests : IAsyncLifetime
{
    private NpgsqlDataSource _dataSource = null!;

    public async Task InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(await TestPostgres.CreateDatabaseAsync());
        await MigrationRunner.RunAsync(_dataSource, PlatformMigrations.Schema, PlatformMigrations.All, CancellationToken.None);
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    private sealed record Position(string Symbol, decimal Lots);

    [Fact]
    public async Task A_saved_value_reads_back_with_a_new_etag_per_write()
    {
        var store = new PostgresStateStore(_dataSource);

        await store.SaveStateAsync("acct-1", new Position("EURUSD", 1.5m), CancellationToken.None);
        var (first, firstETag) = await store.GetStateAndETagAsync<Position>("acct-1", CancellationToken.None);
        await store.SaveStateAsync("acct-1", new Position("EURUSD", 2m), CancellationToken.None);
        var (second, secondETag) = await store.GetStateAndETagAsync<Position>("acct-1", CancellationToken.None);

        Assert.Equal(new Position("EURUSD", 1.5m), first);
        Assert.Equal(new Position("EURUSD", 2m), second);
        Assert.True(Guid.TryParse(firstETag, out _));
        Assert.NotEqual(firstETag, secondETag);
    }

    [Fact]
    public async Task A_missing_key_reads_as_no_value_and_no_etag()
    {
        var store = new PostgresStateStore(_dataSource);

        Assert.Equal((null, null), await store.GetStateAndETagAsync<Position>("nothing", CancellationToken.None));
    }

    [Fact]
    public async Task TrySave_writes_only_with_the_current_etag()
    {
        var store = new PostgresStateStore(_dataSource);
        await store.SaveStateAsync("k", 1, CancellationToken.None);
        var (_, etag) = await store.GetStateAndETagAsync<int>("k", CancellationToken.None);

        Assert.True(await store.TrySaveStateAsync("k", 2, etag, CancellationToken.None));
        Assert.False(await store.TrySaveStateAsync("k", 3, etag, CancellationToken.None));
        Assert.False(await store.TrySaveStateAsync("k", 4, "not-a-uuid", CancellationToken.None));
        Assert.Equal(2, (await store.GetStateAndETagAsync<int>("k", CancellationToken.None)).Value);

        Assert.True(await store.TrySaveStateAsync("k", 5, null, CancellationToken.None));
        Assert.True(await store.TrySaveStateAsync("k", 6, "", CancellationToken.None));
        Assert.Equal(6, (await store.GetStateAndETagAsync<int>("k", CancellationToken.None)).Value);
    }

    [Fact]
    public async Task TrySave_of_a_missing_key_with_an_etag_is_a_mismatch()
    {
        var store = new PostgresStateStore(_dataSource);

        Assert.False(await store.TrySaveStateAsync("new", 1, Guid.NewGuid().ToString(), CancellationToken.None));
        Assert.Equal((0, null), await store.GetStateAndETagAsync<int>("new", CancellationToken.None));
    }

    [Fact]
    public async Task TryDelete_deletes_only_with_the_current_etag_and_Delete_always()
    {
        var store = new PostgresStateStore(_dataSource);
        await store.SaveStateAsync("a", "x", CancellationToken.None);
        await store.SaveStateAsync("b", "y", CancellationToken.None);
        var (_, etag) = await store.GetStateAndETagAsync<string>("a", CancellationToken.None);

        Assert.False(await store.TryDeleteStateAsync("a", Guid.NewGuid().ToString(), CancellationToken.None));
        Assert.Equal("x", (await store.GetStateAndETagAsync<string>("a", CancellationToken.None)).Value);
        Assert.True(await store.TryDeleteStateAsync("a", etag!, CancellationToken.None));
        Assert.False(await store.TryDeleteStateAsync("a", etag!, CancellationToken.None));
        await store.DeleteStateAsync("b", CancellationToken.None);
        await store.DeleteStateAsync("b", CancellationToken.None);

        var items = await store.GetBulkStateAsync(["a", "b"], CancellationToken.None);
        Assert.All(items, item => Assert.Null(item.Value));
    }

    [Fact]
    public async Task Bulk_get_answers_every_key_in_order_with_json_text_and_etags()
    {
        var store = new PostgresStateStore(_dataSource);
        await store.SaveStateAsync("s", "text", CancellationToken.None);
        await store.SaveStateAsync("n", 42, CancellationToken.None);

        var items = await store.GetBulkStateAsync(["n", "missing", "s"], CancellationToken.None);

        Assert.Equal(["n", "missing", "s"], items.Select(i => i.Key));
        Assert.Equal(["42", null, "\"text\""], items.Select(i => i.Value));
        Assert.Null(items[1].ETag);
        Assert.NotNull(items[0].ETag);
    }

    [Fact]
    public async Task A_transaction_applies_all_its_operations()
    {
        var store = new PostgresStateStore(_dataSource);
        await store.SaveStateAsync("old", 1, CancellationToken.None);
        await store.SaveStateAsync("kept", 1, CancellationToken.None);
        var (_, etag) = await store.GetStateAndETagAsync<int>("kept", CancellationToken.None);

        await store.ExecuteStateTransactionAsync(
            [
                new StateTransactionRequest("new", "7", StateOperationType.Upsert),
                new StateTransactionRequest("kept", "2", StateOperationType.Upsert, etag),
                new StateTransactionRequest("old", null, StateOperationType.Delete),
            ],
            CancellationToken.None);

        var items = await store.GetBulkStateAsync(["new", "kept", "old"], CancellationToken.None);
        Assert.Equal(["7", "2", null], items.Select(i => i.Value));
    }

    [Fact]
    public async Task An_etag_mismatch_fails_the_whole_transaction_with_a_concurrency_error()
    {
        var store = new PostgresStateStore(_dataSource);
        await store.SaveStateAsync("a", 1, CancellationToken.None);
        await store.SaveStateAsync("b", 1, CancellationToken.None);

        var error = await Assert.ThrowsAsync<StateConcurrencyException>(() => store.ExecuteStateTransactionAsync(
            [
                new StateTransactionRequest("a", "2", StateOperationType.Upsert),
                new StateTransactionRequest("c", "2", StateOperationType.Upsert),
                new StateTransactionRequest("b", null, StateOperationType.Delete, Guid.NewGuid().ToString()),
            ],
            CancellationToken.None));

        Assert.Equal("b", error.Key);
        var items = await store.GetBulkStateAsync(["a", "b", "c"], CancellationToken.None);
        Assert.Equal(["1", "1", null], items.Select(i => i.Value));
    }
}
