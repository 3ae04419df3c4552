using System.Text;
using System.Text.Json;

namespace DistortSignals.Ingest.Api;

/// <summary>One element of a posted batch: its position and JSON, or why it could not be read.</summary>
internal readonly record struct BatchElement(int Index, JsonElement? Json, string? Error);

/// <summary>
/// The elements of a posted batch. Their JSON points into the parsed documents (copying each element cost more
/// than reading it), so it may be read only until the batch is disposed.
/// </summary>
internal sealed class ParsedBatch(List<BatchElement> elements, List<JsonDocument> documents) : IDisposable
{
    public IReadOnlyList<BatchElement> Elements => elements;

    public void Dispose()
    {
        foreach (var document in documents)
        {
            document.Dispose();
        }
    }
}

/// <summary>
/// Reads a request body that is a JSON array or NDJSON (one JSON object per line). A line of NDJSON that
/// is not JSON refuses that item only; a JSON array that is not JSON refuses the whole body, because its
/// items cannot be told apart.
/// </summary>
internal static class BatchReader
{
    public const int MaxItems = 100_000;

    /// <summary>Reads the batch; <paramref name="body"/> must stay unchanged until the result is disposed.</summary>
    public static ParsedBatch Read(ReadOnlyMemory<byte> body)
    {
        var span = body.Span;
        var start = 0;
        while (start < span.Length && (span[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' || IsBom(span, start)))
        {
            start += IsBom(span, start) ? 3 : 1;
        }

        if (start == span.Length)
        {
            throw new BatchFormatException("the body is empty; send a JSON array or NDJSON");
        }

        return span[start] == (byte)'[' ? ReadArray(body[start..]) : ReadLines(body[start..]);
    }

    private static ParsedBatch ReadArray(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new BatchFormatException($"the body is not valid JSON: {e.Message}");
        }

        var items = new List<BatchElement>(document.RootElement.GetArrayLength());
        var batch = new ParsedBatch(items, [document]);
        try
        {
            foreach (var element in document.RootElement.EnumerateArray())
            {
                Limit(items.Count);
                items.Add(new BatchElement(items.Count, element, null));
            }

            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    private static ParsedBatch ReadLines(ReadOnlyMemory<byte> body)
    {
        var items = new List<BatchElement>();
        var documents = new List<JsonDocument>();
        var batch = new ParsedBatch(items, documents);
        try
        {
            var remaining = body;
            while (!remaining.IsEmpty)
            {
                var end = remaining.Span.IndexOf((byte)'\n');
                var line = end < 0 ? remaining : remaining[..end];
                remaining = end < 0 ? ReadOnlyMemory<byte>.Empty : remaining[(end + 1)..];
                if (line.Span.Trim("\r\t "u8).IsEmpty)
                {
                    continue;
                }

                Limit(items.Count);
                try
                {
                    var document = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 8 });
                    documents.Add(document);
                    items.Add(new BatchElement(items.Count, document.RootElement, null));
                }
                catch (JsonException e)
                {
                    items.Add(new BatchElement(items.Count, null, $"line {items.Count + 1} is not JSON: {e.Message} ({Encoding.UTF8.GetString(line.Span[..Math.Min(line.Length, 60)])})"));
                }
            }

            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    private static void Limit(int count)
    {
        if (count >= MaxItems)
        {
            throw new BatchFormatException($"the batch has more than {MaxItems} items; split it");
        }
    }

    private static bool IsBom(ReadOnlySpan<byte> span, int at) =>
        span.Length >= at + 3 && span[at] == 0xEF && span[at + 1] == 0xBB && span[at + 2] == 0xBF;
}

/// <summary>The body as a whole cannot be read; nothing in it was accepted.</summary>
internal sealed class BatchFormatException(string message) : Exception(message);
