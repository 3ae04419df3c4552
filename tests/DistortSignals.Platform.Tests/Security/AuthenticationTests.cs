using System.Net;
using DistortSignals.Platform.Security;

namespace DistortSignals.Platform.Tests.Security;

public sealed class AuthenticationTests(SecurityHostFixture fixture) : IClassFixture<SecurityHostFixture>
{
    private SecurityTestHost Host => fixture.Host;

    [Fact]
    public async Task A_request_without_a_key_is_401_with_a_challenge_and_a_problem()
    {
        var response = await Host.GetAsync("/api/v1/signals", key: null);

        await ProblemAssert.IsProblemAsync(response, 401, "needs an API key in the X-API-Key header");
        Assert.Equal("ApiKey", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task A_well_formed_but_unknown_key_is_401_naming_its_key_id()
    {
        var unknown = ApiKeySecret.Generate();

        var response = await Host.GetAsync("/api/v1/signals", unknown);

        await ProblemAssert.IsProblemAsync(response, 401, $"The API key {ApiKeySecret.KeyIdOf(unknown)} is unknown or revoked.");
        Assert.Equal("ApiKey", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task A_key_with_a_wrong_secret_is_401()
    {
        var key = await Host.CreateKeyAsync(Scopes.Reader);
        var sameIdOtherSecret = key[..^4] + (key.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBA" : "AAAA");

        var response = await Host.GetAsync("/api/v1/signals", sameIdOtherSecret);

        await ProblemAssert.IsProblemAsync(response, 401, "is unknown or revoked");
    }

    [Fact]
    public async Task Text_that_is_not_a_key_is_401_saying_what_a_key_looks_like()
    {
        var response = await Host.GetAsync("/api/v1/signals", "hunter2");

        await ProblemAssert.IsProblemAsync(response, 401, "expected 'ds_' followed by 43 base64url characters");
    }

    [Fact]
    public async Task A_revoked_key_is_401_at_once()
    {
        var created = await Host.Keys.CreateAsync(Scopes.Reader, "soon revoked");
        Assert.Equal(HttpStatusCode.OK, (await Host.GetAsync("/api/v1/signals", created.Secret)).StatusCode);

        Assert.True(await Host.Keys.RevokeAsync(created.KeyId));

        var response = await Host.GetAsync("/api/v1/signals", created.Secret);
        await ProblemAssert.IsProblemAsync(response, 401, $"The API key {created.KeyId} is unknown or revoked.");
    }

    [Fact]
    public async Task A_key_of_the_wrong_scope_is_403_naming_the_scope_needed()
    {
        var ingest = await Host.CreateKeyAsync(Scopes.Ingest);

        var response = await Host.GetAsync("/api/v1/signals", ingest);

        await ProblemAssert.IsProblemAsync(response, 403,
            $"This endpoint needs a key with scope 'reader' (or 'admin'); key {ApiKeySecret.KeyIdOf(ingest)} has scope 'ingest'.");
    }

    [Fact]
    public async Task Only_admin_passes_an_admin_endpoint()
    {
        var reader = await Host.CreateKeyAsync(Scopes.Reader);
        var admin = await Host.CreateKeyAsync(Scopes.Admin);

        await ProblemAssert.IsProblemAsync(await Host.GetAsync("/api/v1/admin/keys", reader), 403, "needs a key with scope 'admin';");
        Assert.Equal(HttpStatusCode.OK, (await Host.GetAsync("/api/v1/admin/keys", admin)).StatusCode);
    }

    [Fact]
    public async Task Admin_passes_reader_and_ingest_endpoints()
    {
        var admin = await Host.CreateKeyAsync(Scopes.Admin);

        var read = await Host.GetAsync("/api/v1/signals", admin);
        var ingest = await Host.SendAsync(HttpMethod.Post, "/api/v1/ticks", admin, Json("""{"symbol":"EURUSD","time":"2026-11-20T10:00:00Z","bid":1.08,"ask":1.0802}"""));

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("signals", await read.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, ingest.StatusCode);
    }

    [Fact]
    public async Task An_ea_key_exposes_its_account()
    {
        var ea = await Host.CreateKeyAsync(Scopes.ForAccount("acct-a"));

        var response = await Host.GetAsync("/ea/v1/whoami", ea);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("acct-a", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_ea_key_for_one_account_cannot_act_for_another()
    {
        var ea = await Host.CreateKeyAsync(Scopes.ForAccount("acct-a"));

        var own = await Host.GetAsync("/ea/v1/accounts/acct-a/status", ea);
        var other = await Host.GetAsync("/ea/v1/accounts/acct-b/status", ea);

        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        await ProblemAssert.IsProblemAsync(other, 403, $"Key {ApiKeySecret.KeyIdOf(ea)} speaks for account 'acct-a', not 'acct-b'.");
    }

    [Fact]
    public async Task An_ea_key_is_refused_by_operations_endpoints()
    {
        var ea = await Host.CreateKeyAsync(Scopes.ForAccount("acct-a"));

        await ProblemAssert.IsProblemAsync(await Host.GetAsync("/api/v1/signals", ea), 403, "has scope 'ea:acct-a'");
    }

    [Fact]
    public async Task Admin_cannot_act_as_an_ea()
    {
        var admin = await Host.CreateKeyAsync(Scopes.Admin);

        var response = await Host.GetAsync("/ea/v1/whoami", admin);

        var problem = await ProblemAssert.IsProblemAsync(response, 403, "needs a key with scope 'ea:<account>'");
        Assert.Contains("only an EA key may act for an account", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    [InlineData("/metrics")]
    public async Task Health_and_metrics_endpoints_need_no_key(string path)
    {
        var response = await Host.GetAsync(path, key: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task An_endpoint_without_a_policy_still_needs_a_key_but_any_scope_passes()
    {
        var ea = await Host.CreateKeyAsync(Scopes.ForAccount("acct-a"));

        await ProblemAssert.IsProblemAsync(await Host.GetAsync("/api/v1/plain", key: null), 401, "needs an API key");
        Assert.Equal(HttpStatusCode.OK, (await Host.GetAsync("/api/v1/plain", ea)).StatusCode);
    }

    [Fact]
    public async Task No_log_line_holds_a_secret_but_refusals_name_the_key_id()
    {
        var created = await Host.Keys.CreateAsync(Scopes.Reader, "logged");
        var unknown = ApiKeySecret.Generate();
        await Host.GetAsync("/api/v1/signals", created.Secret);
        await Host.GetAsync("/api/v1/admin/keys", created.Secret);
        await Host.GetAsync("/api/v1/signals", unknown);

        var lines = Host.Logs.Lines.ToList();
        Assert.DoesNotContain(lines, line => line.Contains(created.Secret, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.Contains(unknown, StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains($"Authenticated API key {created.KeyId}", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains($"Refused API key {ApiKeySecret.KeyIdOf(unknown)}", StringComparison.Ordinal));
    }

    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
