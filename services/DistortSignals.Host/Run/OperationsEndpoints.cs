using DistortSignals.Platform.Accounts;
using DistortSignals.Platform.Dapr;
using DistortSignals.Platform.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace DistortSignals.Host.Run;

/// <summary>The endpoints that need no key: liveness, readiness (the database and, on Dapr, the sidecar answer, and the loaded accounts reached the modules) and Prometheus metrics.</summary>
internal static class OperationsEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", () => Results.Text("ok\n")).AllowAnonymous();
        endpoints.MapGet("/readyz", ReadyAsync).AllowAnonymous();
        endpoints.MapGet("/metrics", (PrometheusExporter exporter) => Results.Text(exporter.Scrape(), "text/plain; version=0.0.4; charset=utf-8")).AllowAnonymous();
    }

    private static async Task<IResult> ReadyAsync(NpgsqlDataSource database, HttpContext context, CancellationToken cancellationToken)
    {
        // Registered only on the Dapr platform.
        if (context.RequestServices.GetService<DaprClient>() is { } sidecar && !await sidecar.CheckOutboundHealthAsync(cancellationToken))
        {
            return Results.Problem(title: "Not ready", detail: $"the Dapr sidecar at {sidecar.HttpEndpoint} does not report ready on /v1.0/healthz/outbound",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        if (context.RequestServices.GetService<LoadedAccountsPush>() is { Pushed.Task.IsCompleted: false })
        {
            return Results.Problem(title: "Not ready", detail: "the loaded BrokerAccounts have not reached the risk and gateway modules yet; the log says why",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await using var command = database.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            return Results.Text("ready\n");
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return Results.Problem(title: "Not ready", detail: $"the database does not answer: {e.Message}", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}
