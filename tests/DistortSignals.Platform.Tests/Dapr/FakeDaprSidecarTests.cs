using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DistortSignals.Testing.Dapr;

namespace DistortSignals.Platform.Tests.Dapr;

/// <summary>The fake sidecar keeps the awkward semantics of the reference on the wire, checked with raw HTTP.</summary>
public sealed class FakeDaprSidecarTests : IAsyncLifetime
{
    private readonly HttpClient _http = new();
    private FakeDaprSidecar _sidecar = null!;

    public async Task InitializeAsync() => _sidecar = await FakeDaprSidecar.StartAsync();

    public async Task DisposeAsync()
    {
        await _sidecar.DisposeAsync();
        _http.Dispose();
    }

    [Fact]
    public async Task An_etag_mismatch_is_409_on_a_save_but_500_inside_a_transaction_and_a_numeric_etag_is_400()
    {
        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync("v1.0/state/statestore", """[{"key":"k","value":"x"}]""")).StatusCode);
        using var get = await _http.GetAsync(new Uri(_sidecar.Url, "v1.0/state/statestore/k"));
        var etag = get.Headers.GetValues("ETag").Single();

        Assert.Null(get.Headers.ETag);
        Assert.Equal("\"x\"", await get.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Conflict, (await PostAsync("v1.0/state/statestore", $$"""[{"key":"k","value":1,"etag":"{{Guid.NewGuid()}}"}]""")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync("v1.0/state/statestore", """[{"key":"k","value":1,"etag":7}]""")).StatusCode);
        using var transaction = await PostAsync("v1.0/state/statestore/transaction",
            $$$"""{"operations":[{"operation":"upsert","request":{"key":"k","value":2,"etag":"{{{Guid.NewGuid()}}}"}}]}""");
        Assert.Equal(HttpStatusCode.InternalServerError, transaction.StatusCode);
        Assert.Equal("ERR_STATE_TRANSACTION", (string?)JsonNode.Parse(await transaction.Content.ReadAsStringAsync())!["errorCode"]);
        Assert.Equal(HttpStatusCode.NoContent, (await PostAsync("v1.0/state/statestore", $$"""[{"key":"k","value":3,"etag":"{{etag}}"}]""")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _http.GetAsync(new Uri(_sidecar.Url, "v1.0/state/statestore/missing"))).StatusCode);
    }

    [Fact]
    public async Task Json_published_without_a_content_type_arrives_as_a_string()
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"a":1}"""));

        Assert.Equal(HttpStatusCode.NoContent, (await _http.PostAsync(new Uri(_sidecar.Url, "v1.0/publish/pubsub/bars"), content)).StatusCode);

        var envelope = Assert.Single(_sidecar.Published).Envelope;
        Assert.Equal("text/plain", (string?)envelope["datacontenttype"]);
        Assert.Equal("""{"a":1}""", (string?)envelope["data"]);
        Assert.True(Guid.TryParse((string?)envelope["id"], out _));
    }

    [Fact]
    public async Task Actor_state_and_reminders_need_the_type_hosted_and_the_actor_active_here()
    {
        using var state = await PostAsync("v1.0/actors/counter/a/state", """[{"operation":"upsert","request":{"key":"n","value":1}}]""");
        using var reminder = await PostAsync("v1.0/actors/counter/a/reminders/r", """{"dueTime":"1s","period":""}""");

        Assert.Equal(HttpStatusCode.BadRequest, state.StatusCode);
        Assert.Contains("ERR_ACTOR_INSTANCE_MISSING", await state.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, reminder.StatusCode);
    }

    private Task<HttpResponseMessage> PostAsync(string path, string json) =>
        _http.PostAsync(new Uri(_sidecar.Url, path), new StringContent(json, Encoding.UTF8, "application/json"));
}
