using System.Buffers;
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
        var (body, length) = await ReadBodyAsync(request, cancellationToken);
        var items = new List<(int, T)>();
        var unreadable = new List<RefusedItem>();
        int received;
        try
        {
            // The parsed documents are returned to their pool before the batch is stored.
            using var batch = BatchReader.Read(body.AsMemory(0, length));
            received = batch.Elements.Count;
            foreach (var element in batch.Elements)
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
        }
        catch (BatchFormatException e)
        {
            return Problems.Status(StatusCodes.Status400BadRequest, e.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }

        var result = await ingest(items, cancellationToken);
        var refused = unreadable.Concat(result.Refused).OrderBy(r => r.Index).ToList();
        var answer = new BatchAnswer(received, result.Accepted, result.Duplicates, refused, result.BarsClosed);
        if (received > 0 && refused.Count == received)
        {
            return Results.Problem(
                title: "No item was accepted",
                detail: $"all {received} items were refused; the first: item {refused[0].Index}: {string.Join("; ", refused[0].Errors)}",
                statusCode: StatusCodes.Status422UnprocessableEntity,
                extensions: new Dictionary<string, object?> { ["refused"] = refused });
        }

        return Results.Ok(answer);
    }

    /// <summary>
    /// The whole body in a pooled buffer, which the caller returns: a 2,000-tick batch is a quarter of a megabyte,
    /// and a fresh buffer for each would land on the large-object heap. Its size is bounded by the body limit.
    /// </summary>
    private static async Task<(byte[] Buffer, int Length)> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        // One byte more than the declared length, so that the read which finds the end needs no larger buffer.
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(request.ContentLength + 1 ?? 16_384, Array.MaxLength));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    return (buffer, length);
                }

                length += read;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
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
