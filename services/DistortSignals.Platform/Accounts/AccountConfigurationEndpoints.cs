using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Validation;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace DistortSignals.Platform.Accounts;

/// <summary>
/// <c>PUT /api/v1/accounts/{account}/config</c> (scope admin) with <c>{"spec": BrokerAccountSpec, "eaKeySha256": "hex"}</c>:
/// validated with the manifest loader's rules, then handed to every module that registered an
/// <see cref="IAccountConfigurationSink"/>. One route serves whichever of those modules the process runs.
/// </summary>
public static partial class AccountConfigurationEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        if (endpoints.ServiceProvider.GetServices<IAccountConfigurationSink>().Any())
        {
            endpoints.MapPut("/api/v1/accounts/{account}/config", PutAsync).RequireAuthorization(Scopes.Admin);
        }
    }

    public static string Sha256Hex(string key) => Convert.ToHexStringLower(ApiKeySecret.Hash(key));

    private static async Task<IResult> PutAsync(string account, HttpRequest request, IEnumerable<IAccountConfigurationSink> sinks, CancellationToken cancellationToken)
    {
        if (!ResourceName.IsValid(account, BrokerAccountResource.MaxNameLength))
        {
            return Problems.BadRequest("account", $"'{account}' is not a BrokerAccount name ({ResourceName.Rule(BrokerAccountResource.MaxNameLength)})");
        }

        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException e)
        {
            return Problems.BadRequest("body", $"is not JSON: {e.Message}");
        }

        if (body is not JsonObject root)
        {
            return Problems.BadRequest("body", "must be a JSON object {\"spec\": {...}, \"eaKeySha256\": \"...\"}");
        }

        foreach (var (name, _) in root)
        {
            if (name is not ("spec" or "eaKeySha256"))
            {
                return Problems.BadRequest(name, "is not a field of the account configuration (spec, eaKeySha256)");
            }
        }

        var spec = ResourceJson.Read<BrokerAccountSpec>(root["spec"], "spec", out var problem);
        if (problem is not null)
        {
            var field = problem.Split(':', 2)[0];
            return Problems.BadRequest(field, problem[(field.Length + 1)..].Trim());
        }

        var errors = BrokerAccountValidator.Validate(spec!);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(
                errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
                detail: string.Join("; ", errors.Select(e => e.ToString())));
        }

        string? hash = null;
        if (root["eaKeySha256"] is { } hashNode)
        {
            hash = hashNode is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
            if (hash is null || !Sha256HexPattern().IsMatch(hash))
            {
                return Problems.BadRequest("eaKeySha256", "must be the SHA-256 of the EA key as 64 lowercase hex digits");
            }
        }

        var configuration = new AccountConfiguration(account, spec!, hash);
        foreach (var sink in sinks)
        {
            await sink.ApplyAsync(configuration, cancellationToken);
        }

        return Results.NoContent();
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256HexPattern();
}
