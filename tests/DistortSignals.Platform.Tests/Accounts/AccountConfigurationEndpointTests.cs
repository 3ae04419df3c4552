using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DistortSignals.Core.Accounts;
using DistortSignals.Platform.Accounts;
using DistortSignals.Platform.Security;
using DistortSignals.Platform.Tests.Security;
using Microsoft.Extensions.DependencyInjection;

namespace DistortSignals.Platform.Tests.Accounts;

public sealed class AccountConfigurationEndpointTests : IAsyncLifetime
{
    private const string Spec = """
        {"broker":"MT5","login":"5012345","credentialsSecretRef":{"name":"mt5-ea","key":"apiKey"},
         "risk":{"maxDailyLossPct":2,"dayReset":{"time":"17:00","timeZone":"America/New_York"}},
         "instruments":[{"symbol":"EURUSD","contractSize":100000,"pipSize":0.0001,"pipValuePerLot":10}],
         "directiveTtlSeconds":30}
        """;

    private readonly RecordingSink _risk = new();
    private readonly RecordingSink _gateway = new();
    private SecurityTestHost _host = null!;
    private string _admin = null!;

    public async Task InitializeAsync()
    {
        _host = await SecurityTestHost.StartAsync(services: s => s
            .AddSingleton<IAccountConfigurationSink>(_risk)
            .AddSingleton<IAccountConfigurationSink>(_gateway));
        _admin = await _host.CreateKeyAsync(Scopes.Admin);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<HttpResponseMessage> PutAsync(string account, string body, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/accounts/{account}/config")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-API-Key", key ?? _admin);
        return await _host.Client.SendAsync(request);
    }

    [Fact]
    public async Task A_valid_configuration_reaches_every_module_with_its_key_hash()
    {
        var hash = AccountConfigurationEndpoints.Sha256Hex("ds_DEMOKEY-mt5-demo-PUBLIC-not-for-real-money0");

        using var response = await PutAsync("mt5-demo", $$"""{"spec":{{Spec}},"eaKeySha256":"{{hash}}"}""");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        foreach (var sink in new[] { _risk, _gateway })
        {
            var applied = Assert.Single(sink.Applied);
            Assert.Equal("mt5-demo", applied.Account);
            Assert.Equal(hash, applied.EaKeySha256);
            Assert.Equal(BrokerKind.MT5, applied.Spec.Broker);
            Assert.Equal(2, applied.Spec.Risk.MaxDailyLossPct);
            Assert.Equal(30, applied.Spec.DirectiveTtlSeconds);
        }
    }

    [Theory]
    [InlineData("mt5-demo", "{\"spec\":" + Spec + ",\"eaKeySha256\":\"ABC\"}", "eaKeySha256")]
    [InlineData("mt5-demo", "{\"spec\":" + Spec + ",\"extra\":1}", "extra")]
    [InlineData("mt5-demo", "{\"spec\":{\"broker\":\"MT5\"}}", "spec.credentialsSecretRef")]
    [InlineData("mt5-demo", "{\"spec\":{\"broker\":\"Fx\",\"credentialsSecretRef\":{\"name\":\"a\",\"key\":\"b\"}}}", "spec.broker")]
    [InlineData("mt5-demo", "{\"spec\":{\"broker\":\"MT5\",\"credentialsSecretRef\":{\"name\":\"a\",\"key\":\"b\"},\"directiveTtlSeconds\":1}}", "spec.directiveTtlSeconds")]
    [InlineData("mt5-demo", "[1,2]", "body")]
    [InlineData("mt5-demo", "{\"spec\":", "body")]
    [InlineData("MT5_Demo", "{\"spec\":" + Spec + "}", "account")]
    public async Task A_bad_configuration_is_refused_naming_the_field_and_reaches_no_module(string account, string body, string field)
    {
        using var response = await PutAsync(account, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(problem.GetProperty("errors").EnumerateObject(), e => e.Name.StartsWith(field, StringComparison.Ordinal));
        Assert.Empty(_risk.Applied);
        Assert.Empty(_gateway.Applied);
    }

    [Fact]
    public async Task Only_an_admin_key_may_configure_an_account()
    {
        var reader = await _host.CreateKeyAsync(Scopes.Reader);
        var ea = await _host.CreateKeyAsync(Scopes.ForAccount("mt5-demo"));

        using var asReader = await PutAsync("mt5-demo", $$"""{"spec":{{Spec}}}""", reader);
        using var asEa = await PutAsync("mt5-demo", $$"""{"spec":{{Spec}}}""", ea);
        using var asNobody = await PutAsync("mt5-demo", $$"""{"spec":{{Spec}}}""", "ds_wrong");

        Assert.Equal(HttpStatusCode.Forbidden, asReader.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, asEa.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, asNobody.StatusCode);
        Assert.Empty(_risk.Applied);
    }

    private sealed class RecordingSink : IAccountConfigurationSink
    {
        public ConcurrentQueue<AccountConfiguration> Applied { get; } = new();

        public Task ApplyAsync(AccountConfiguration configuration, CancellationToken cancellationToken)
        {
            Applied.Enqueue(configuration);
            return Task.CompletedTask;
        }
    }
}
