using System.Net;
using DistortSignals.Platform.Security;

namespace DistortSignals.Platform.Tests.Security;

public sealed class AdminKeyBootstrapTests
{
    [Fact]
    public async Task The_configured_admin_key_works_from_the_first_request_and_is_logged_by_id_only()
    {
        var adminKey = ApiKeySecret.Generate();
        await using var host = await SecurityTestHost.StartAsync(new Dictionary<string, string?> { ["DS_ADMIN_KEY"] = adminKey });

        var response = await host.GetAsync("/api/v1/admin/keys", adminKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(host.Logs.Lines, line => line.Contains($"Admin key {ApiKeySecret.KeyIdOf(adminKey)} from DS_ADMIN_KEY is ready", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Logs.Lines, line => line.Contains(adminKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_configured_admin_key_that_is_not_a_key_stops_the_start_without_echoing_it()
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            SecurityTestHost.StartAsync(new Dictionary<string, string?> { ["DS_ADMIN_KEY"] = "letmein" }));

        Assert.StartsWith("DS_ADMIN_KEY is not an API key: expected 'ds_'", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("letmein", refused.Message, StringComparison.Ordinal);
    }
}
