using System.Text;
using DistortSignals.Ingest.Api;

namespace DistortSignals.Ingest.Tests;

public sealed class BatchReaderTests
{
    private static IReadOnlyList<BatchElement> Read(string body)
    {
        using var batch = BatchReader.Read(Encoding.UTF8.GetBytes(body));
        return [.. batch.Elements.Select(e => e with { Json = e.Json?.Clone() })];
    }

    [Fact]
    public void A_json_array_gives_one_element_per_item_in_order()
    {
        var items = Read("""[{"symbol":"A"},{"symbol":"B"}]""");

        Assert.Equal([0, 1], items.Select(i => i.Index));
        Assert.Equal("B", items[1].Json!.Value.GetProperty("symbol").GetString());
    }

    [Fact]
    public void Ndjson_lines_are_items_and_a_bad_line_refuses_only_itself()
    {
        var items = Read("\uFEFF{\"symbol\":\"A\"}\r\n\nnot json\n{\"symbol\":\"C\"}");

        Assert.Equal(3, items.Count);
        Assert.NotNull(items[0].Json);
        Assert.Null(items[1].Json);
        Assert.Contains("line 2 is not JSON", items[1].Error, StringComparison.Ordinal);
        Assert.Equal("C", items[2].Json!.Value.GetProperty("symbol").GetString());
    }

    [Theory]
    [InlineData("", "the body is empty")]
    [InlineData("  \n ", "the body is empty")]
    [InlineData("[{\"symbol\":\"A\"},", "the body is not valid JSON")]
    public void A_body_that_cannot_be_split_into_items_is_refused_whole(string body, string expected)
    {
        var error = Assert.Throws<BatchFormatException>(() => Read(body));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_items_than_the_limit_are_refused()
    {
        var body = "[" + string.Join(',', Enumerable.Repeat("{}", BatchReader.MaxItems + 1)) + "]";
        var error = Assert.Throws<BatchFormatException>(() => Read(body));
        Assert.Contains($"more than {BatchReader.MaxItems} items", error.Message, StringComparison.Ordinal);
    }
}
