using System.Net;
using System.Text;
using DistortSignals.Platform.Security;

namespace DistortSignals.Platform.Tests.Security;

public sealed class ProblemResponseTests(SecurityHostFixture fixture) : IClassFixture<SecurityHostFixture>
{
    private const long DefaultLimit = 1024 * 1024;

    private SecurityTestHost Host => fixture.Host;

    [Fact]
    public async Task Malformed_json_is_400_naming_where_it_broke()
    {
        var ingest = await Host.CreateKeyAsync(Scopes.Ingest);

        var response = await Host.SendAsync(HttpMethod.Post, "/api/v1/ticks", ingest, Json("""{"symbol":"EURUSD","bid":1.08,}"""));

        await ProblemAssert.IsProblemAsync(response, 400, "The request body is not valid JSON at $ (line 1, byte 31): The JSON object contains a trailing comma at the end which is not supported in this mode. Change the reader options.");
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_is_400_naming_the_field()
    {
        var ingest = await Host.CreateKeyAsync(Scopes.Ingest);

        var response = await Host.SendAsync(HttpMethod.Post, "/api/v1/ticks", ingest, Json("""{"symbol":"EURUSD","bid":"cheap"}"""));

        await ProblemAssert.IsProblemAsync(response, 400, "The request body is not valid JSON at $.bid (line 1, byte 33): a value has the wrong type or a required field is missing.");
    }

    [Fact]
    public async Task A_body_declared_over_the_limit_is_413()
    {
        var ingest = await Host.CreateKeyAsync(Scopes.Ingest);

        var response = await Host.SendAsync(HttpMethod.Post, "/api/v1/ticks", ingest, Json(new string(' ', (int)DefaultLimit + 1)));

        await ProblemAssert.IsProblemAsync(response, 413, $"The request body is larger than the limit of {DefaultLimit} bytes.");
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_413()
    {
        var ingest = await Host.CreateKeyAsync(Scopes.Ingest);

        var response = await Host.SendAsync(HttpMethod.Post, "/api/v1/ticks", ingest, new ChunkedJsonContent(DefaultLimit + 4096));

        await ProblemAssert.IsProblemAsync(response, 413, $"The request body is larger than the limit of {DefaultLimit} bytes.");
    }

    [Fact]
    public async Task An_endpoint_may_declare_its_own_body_limit()
    {
        var ingest = await Host.CreateKeyAsync(Scopes.Ingest);
        var withinItsLimit = new ChunkedJsonContent(SecurityTestHost.BulkLimit - 8192);
        var overItsLimit = new ChunkedJsonContent(SecurityTestHost.BulkLimit + 8192);

        var accepted = await Host.SendAsync(HttpMethod.Post, "/api/v1/bulk", ingest, withinItsLimit);
        var refused = await Host.SendAsync(HttpMethod.Post, "/api/v1/bulk", ingest, overItsLimit);

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal((SecurityTestHost.BulkLimit - 8192).ToString(System.Globalization.CultureInfo.InvariantCulture), await accepted.Content.ReadAsStringAsync());
        await ProblemAssert.IsProblemAsync(refused, 413, $"The request body is larger than the limit of {SecurityTestHost.BulkLimit} bytes.");
    }

    [Fact]
    public async Task An_unsupported_content_type_is_415_saying_so()
    {
        var ingest = await Host.CreateKeyAsync(Scopes.Ingest);

        var response = await Host.SendAsync(HttpMethod.Post, "/api/v1/ticks", ingest, new StringContent("symbol=EURUSD", Encoding.UTF8, "text/plain"));

        await ProblemAssert.IsProblemAsync(response, 415, "POST /api/v1/ticks does not accept a body of type 'text/plain; charset=utf-8'; send application/json.");
    }

    [Fact]
    public async Task An_unknown_path_is_a_404_problem_for_a_valid_key()
    {
        var reader = await Host.CreateKeyAsync(Scopes.Reader);

        var response = await Host.GetAsync("/api/v1/nothing-here", reader);

        await ProblemAssert.IsProblemAsync(response, 404, "Nothing is served at GET /api/v1/nothing-here.");
    }

    [Fact]
    public async Task A_module_bad_request_names_the_field()
    {
        var reader = await Host.CreateKeyAsync(Scopes.Reader);

        var response = await Host.GetAsync("/api/v1/validate", reader);

        var problem = await ProblemAssert.IsProblemAsync(response, 400, "symbol: must be 6 letters such as EURUSD");
        Assert.Equal("must be 6 letters such as EURUSD", problem.GetProperty("errors").GetProperty("symbol")[0].GetString());
    }

    [Fact]
    public async Task An_unhandled_exception_is_a_500_problem_that_points_at_the_log_without_internals()
    {
        var reader = await Host.CreateKeyAsync(Scopes.Reader);

        var response = await Host.GetAsync("/api/v1/broken", reader);

        var problem = await ProblemAssert.IsProblemAsync(response, 500, "The server failed while handling the request; its log has the details under trace id");
        Assert.DoesNotContain("order book", problem.ToString(), StringComparison.Ordinal);
        Assert.Contains(Host.Logs.Lines, line => line.Contains("Unhandled exception on GET /api/v1/broken", StringComparison.Ordinal) && line.Contains("the order book cache is corrupt", StringComparison.Ordinal));
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
