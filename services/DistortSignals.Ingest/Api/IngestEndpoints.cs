using System.Globalization;
using DistortSignals.Core.Market;
using DistortSignals.Core.Validation;
using DistortSignals.Ingest.Processing;
using DistortSignals.Platform.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DistortSignals.Ingest.Api;

/// <summary>
/// POST /api/v1/ticks and /api/v1/bars (a JSON array or NDJSON; the answer says per item what became of
/// it) and GET /api/v1/bars/{symbol} for history.
/// </summary>
internal static class IngestEndpoints
{
    public const int MaxBarsPerRead = 10_000;

    public static (RouteGroupBuilder Write, RouteGroupBuilder Read) Map(IEndpointRouteBuilder endpoints)
    {
        var write = endpoints.MapGroup("/api/v1");
        write.MapPost("/ticks", PostTicksAsync);
        write.MapPost("/bars", PostBarsAsync);
        var read = endpoints.MapGroup("/api/v1");
        read.MapGet("/bars/{symbol}", GetBarsAsync);
        return (write, read);
    }

    private static Task<IResult> PostTicksAsync(HttpRequest request, MarketDataIngestor ingestor, CancellationToken cancellationToken) =>
        PostAsync(request, ItemReader.ReadTick, ingestor.IngestTicksAsync, cancellationToken);

    private static Task<IResult> PostBarsAsync(HttpRequest request, MarketDataIngestor ingestor, CancellationToken cancellationToken) =>
        PostAsync(request, ItemReader.ReadBar, ingestor.IngestBarsAsync, cancellationToken);

    private static async Task<IResult> PostAsync<T>(
        HttpRequest request,
        Func<System.Text.Json.JsonElement, List<ValidationError>, T?> read,
        Func<IReadOnlyList<(int, T)>, CancellationToken, Task<IngestResult>> ingest,
        CancellationToken cancellationToken)
        where T : class
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        IReadOnlyList<BatchElement> elements;
        try
        {
            elements = BatchReader.Read(body.GetBuffer().AsMemory(0, (int)body.Length));
        }
        catch (BatchFormatException e)
        {
            return Problems.Status(StatusCodes.Status400BadRequest, e.Message);
        }

        var items = new List<(int, T)>(elements.Count);
        var unreadable = new List<RefusedItem>();
        foreach (var element in elements)
        {
            var errors = new List<ValidationError>();
            if (element.Json is { } json && read(json, errors) is { } item)
            {
                items.Add((element.Index, item));
            }
            else
            {
                unreadable.Add(new RefusedItem(element.Index, errors.Count > 0 ? errors : [new("item", element.Error ?? "cannot be read")]));
            }
        }

        var result = await ingest(items, cancellationToken);
        var refused = unreadable.Concat(result.Refused).OrderBy(r => r.Index).ToList();
        var answer = new BatchAnswer(elements.Count, result.Accepted, result.Duplicates, refused, result.BarsClosed);
        if (elements.Count > 0 && refused.Count == elements.Count)
        {
            return Results.Problem(
                title: "No item was accepted",
                detail: $"all {elements.Count} items were refused; the first: item {refused[0].Index}: {string.Join("; ", refused[0].Errors)}",
                statusCode: StatusCodes.Status422UnprocessableEntity,
                extensions: new Dictionary<string, object?> { ["refused"] = refused });
        }

        return Results.Ok(answer);
    }

    private static async Task<IResult> GetBarsAsync(
        string symbol, string? timeframe, string? from, string? to, int? limit, MarketDataIngestor ingestor, CancellationToken cancellationToken)
    {
        var tf = timeframe is null ? Timeframe.M1 : TimeframeExtensions.TryParse(timeframe);
        if (tf is null)
        {
            return Problems.BadRequest("timeframe", $"'{timeframe}' is not one of M1, M5, M15, M30, H1, H4, D1");
        }

        if (!TryTime(to, DateTimeOffset.UtcNow, out var end))
        {
            return Problems.BadRequest("to", $"'{to}' is not an ISO 8601 time");
        }

        if (!TryTime(from, DateTimeOffset.MinValue, out var start))
        {
            return Problems.BadRequest("from", $"'{from}' is not an ISO 8601 time");
        }

        var count = limit ?? 1000;
        if (count is < 1 or > MaxBarsPerRead)
        {
            return Problems.BadRequest("limit", $"{count} is outside 1..{MaxBarsPerRead}");
        }

        var bars = await ingestor.ReadBarsAsync(symbol, tf.Value, start, end, count, cancellationToken);
        return Results.Ok(new { symbol, timeframe = tf.Value.ToString(), bars });
    }

    private static bool TryTime(string? text, DateTimeOffset fallback, out DateTimeOffset time)
    {
        time = fallback;
        return text is null || DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }


    /// <summary>The answer to a batch: every item not listed as a duplicate or refused was accepted.</summary>
    internal sealed record BatchAnswer(int Received, int Accepted, IReadOnlyList<int> Duplicates, IReadOnlyList<RefusedItem> Refused, int BarsClosed);
}
