using System.Globalization;
using System.Text.Json;
using DistortSignals.Core.Market;
using DistortSignals.Core.Validation;
using DistortSignals.Ingest.Api;

namespace DistortSignals.Ingest.Tests;

public sealed class ItemReaderTests
{
    private static (Tick? Tick, List<ValidationError> Errors) ReadTick(string json)
    {
        var errors = new List<ValidationError>();
        using var document = JsonDocument.Parse(json);
        return (ItemReader.ReadTick(document.RootElement, errors), errors);
    }

    private static (Bar? Bar, List<ValidationError> Errors) ReadBar(string json)
    {
        var errors = new List<ValidationError>();
        using var document = JsonDocument.Parse(json);
        return (ItemReader.ReadBar(document.RootElement, errors), errors);
    }

    [Fact]
    public void A_tick_reads_with_its_fields_and_defaults()
    {
        var (tick, errors) = ReadTick("""{"symbol":"EURUSD","time":"2026-01-05T10:15:00.250Z","bid":1.1,"ask":1.1002}""");

        Assert.Empty(errors);
        Assert.Equal(new Tick("EURUSD", new DateTimeOffset(2026, 1, 5, 10, 15, 0, 250, TimeSpan.Zero), 1.1, 1.1002, null, 0, "api"), tick);
    }

    [Theory]
    [InlineData("2026-01-05T10:15:00Z")]
    [InlineData("2026-01-05T10:15:00+00:00")]
    [InlineData("2026-01-05T10:15:00.1Z")]
    [InlineData("2026-01-05T10:15:00.1234567Z")]
    [InlineData("2026-01-05T10:15:00.999+00:00")]
    [InlineData("2026-01-05T10:15Z")]
    [InlineData("2026-01-05T10:15:00\\u005A")]
    public void Every_utc_time_form_reads_as_the_general_parser_reads_it(string time)
    {
        var (tick, errors) = ReadTick($$"""{"symbol":"EURUSD","time":"{{time}}","last":1}""");
        var text = JsonSerializer.Deserialize<string>($"\"{time}\"")!;

        Assert.Empty(errors);
        Assert.Equal(DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal), tick!.Time);
    }

    [Theory]
    [InlineData("2026-01-05T10:15:00-00:00")]
    [InlineData("2026-01-05T10:15:00+01:00")]
    [InlineData("2026-01-05T10:15:00z")]
    [InlineData("2026-01-05T10:15:60Z")]
    public void A_time_that_is_not_plainly_utc_is_refused(string time)
    {
        var (tick, errors) = ReadTick($$"""{"symbol":"EURUSD","time":"{{time}}","last":1}""");

        Assert.Null(tick);
        Assert.Contains(errors, e => e.Field == "time" && e.Message.Contains("is not an ISO 8601 UTC time", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"time":"2026-01-05T10:15:00Z","last":1}""", "symbol", "is required")]
    [InlineData("""{"symbol":"EURUSD","time":"2026-01-05T10:15:00","last":1}""", "time", "is not an ISO 8601 UTC time")]
    [InlineData("""{"symbol":"EURUSD","time":"yesterday","last":1}""", "time", "'yesterday'")]
    [InlineData("""{"symbol":"EURUSD","time":"2026-01-05T10:15:00Z","last":"NaN"}""", "last", "must be a finite number, got \"NaN\"")]
    [InlineData("""{"symbol":"EURUSD","time":"2026-01-05T10:15:00Z","last":-1}""", "last", "-1 is not positive")]
    [InlineData("""{"symbol":"EURUSD","time":"2026-01-05T10:15:00Z","bid":1.2,"ask":1.1}""", "bid", "above ask")]
    [InlineData("""{"symbol":"EURUSD","time":"2026-01-05T10:15:00Z","last":1,"volume":-5}""", "volume", "-5 is negative")]
    [InlineData("""{"symbol":"EURUSD","time":"2026-01-05T10:15:00Z","last":1,"price":2}""", "price", "is not a known field")]
    [InlineData("""{"symbol":42,"time":"2026-01-05T10:15:00Z","last":1}""", "symbol", "must be a string, got 42")]
    public void A_bad_tick_is_refused_naming_the_field(string json, string field, string message)
    {
        var (tick, errors) = ReadTick(json);

        Assert.Null(tick);
        Assert.Contains(errors, e => e.Field == field && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Something_other_than_an_object_is_refused()
    {
        var (tick, errors) = ReadTick("[1,2]");

        Assert.Null(tick);
        Assert.Equal("item: is a JSON array, not an object", Assert.Single(errors).ToString());
    }

    [Fact]
    public void A_bar_reads_and_its_rules_apply()
    {
        var (bar, errors) = ReadBar("""{"symbol":"EURUSD","timeframe":"M5","time":"2026-01-05T10:15:00Z","open":1.1,"high":1.2,"low":1.0,"close":1.15,"volume":10}""");
        Assert.Empty(errors);
        Assert.Equal(Timeframe.M5, bar!.Timeframe);

        var (misaligned, problems) = ReadBar("""{"symbol":"EURUSD","timeframe":"H1","time":"2026-01-05T10:15:00Z","open":1.1,"high":1.2,"low":1.0,"close":1.15}""");
        Assert.Null(misaligned);
        Assert.Contains(problems, e => e.Field == "time" && e.Message.Contains("not aligned to H1", StringComparison.Ordinal));

        var (badTimeframe, timeframeErrors) = ReadBar("""{"symbol":"EURUSD","timeframe":"H2","time":"2026-01-05T10:00:00Z","open":1.1,"high":1.2,"low":1.0,"close":1.15}""");
        Assert.Null(badTimeframe);
        Assert.Contains(timeframeErrors, e => e.Field == "timeframe" && e.Message.Contains("'H2'", StringComparison.Ordinal));
    }
}
