using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using DistortSignals.Core.Market;
using DistortSignals.Core.Validation;

namespace DistortSignals.Ingest.Api;

/// <summary>
/// Turns posted JSON objects into ticks and bars, naming every field that is missing or of the wrong type.
/// Value rules (positive prices, bid &lt;= ask, aligned times) are <see cref="MarketValidation"/>'s.
/// </summary>
internal static class ItemReader
{
    // UTF-8, so that checking each property's name makes no string.
    private static readonly byte[][] TickFields = Utf8("symbol", "time", "bid", "ask", "last", "volume", "source");
    private static readonly byte[][] BarFields = Utf8("symbol", "timeframe", "time", "open", "high", "low", "close", "volume", "tickCount");

    public static Tick? ReadTick(JsonElement json, List<ValidationError> errors)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("item", $"is a JSON {json.ValueKind.ToString().ToLowerInvariant()}, not an object"));
            return null;
        }

        var symbol = String(json, "symbol", errors, required: true);
        var time = Time(json, "time", errors);
        var bid = Number(json, "bid", errors, required: false);
        var ask = Number(json, "ask", errors, required: false);
        var last = Number(json, "last", errors, required: false);
        var volume = Number(json, "volume", errors, required: false) ?? 0;
        var source = String(json, "source", errors, required: false) ?? "api";
        Unknown(json, errors, TickFields);
        if (errors.Count > 0)
        {
            return null;
        }

        var tick = new Tick(symbol!, time!.Value, bid, ask, last, volume, source);
        errors.AddRange(MarketValidation.Validate(tick));
        return errors.Count == 0 ? tick : null;
    }

    public static Bar? ReadBar(JsonElement json, List<ValidationError> errors)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("item", $"is a JSON {json.ValueKind.ToString().ToLowerInvariant()}, not an object"));
            return null;
        }

        var symbol = String(json, "symbol", errors, required: true);
        var timeframeText = String(json, "timeframe", errors, required: true);
        var timeframe = timeframeText is null ? null : TimeframeExtensions.TryParse(timeframeText);
        if (timeframeText is not null && timeframe is null)
        {
            errors.Add(new("timeframe", $"'{timeframeText}' is not one of M1, M5, M15, M30, H1, H4, D1"));
        }

        var time = Time(json, "time", errors);
        var open = Number(json, "open", errors, required: true);
        var high = Number(json, "high", errors, required: true);
        var low = Number(json, "low", errors, required: true);
        var close = Number(json, "close", errors, required: true);
        var volume = Number(json, "volume", errors, required: false) ?? 0;
        var tickCount = json.TryGetProperty("tickCount", out var count) && count.TryGetInt32(out var parsed) ? parsed : 0;
        Unknown(json, errors, BarFields);
        if (errors.Count > 0)
        {
            return null;
        }

        var bar = new Bar(symbol!, timeframe!.Value, time!.Value, open!.Value, high!.Value, low!.Value, close!.Value, volume, tickCount);
        errors.AddRange(MarketValidation.Validate(bar));
        return errors.Count == 0 ? bar : null;
    }

    private static string? String(JsonElement json, string name, List<ValidationError> errors, bool required)
    {
        if (!json.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors.Add(new(name, "is required"));
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new(name, $"must be a string, got {value.GetRawText()}"));
            return null;
        }

        return value.GetString();
    }

    private static double? Number(JsonElement json, string name, List<ValidationError> errors, bool required)
    {
        if (!json.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors.Add(new(name, "is required"));
            }

            return null;
        }

        // JSON has no NaN or Infinity; "NaN" as a string is refused like any other text.
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number))
        {
            errors.Add(new(name, $"must be a finite number, got {value.GetRawText()}"));
            return null;
        }

        return number;
    }

    private static DateTimeOffset? Time(JsonElement json, string name, List<ValidationError> errors)
    {
        // The usual case, an ISO 8601 time ending in Z or +00:00, is read from the UTF-8 without making a string.
        if (json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            && JsonMarshal.GetRawUtf8Value(value) is var raw && (raw.EndsWith("Z\""u8) || raw.EndsWith("+00:00\""u8))
            && value.TryGetDateTimeOffset(out var utc) && utc.Offset == TimeSpan.Zero)
        {
            return utc;
        }

        var text = String(json, name, errors, required: true);
        if (text is null)
        {
            return null;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            || !(text.EndsWith('Z') || text.EndsWith("+00:00", StringComparison.Ordinal)))
        {
            errors.Add(new(name, $"'{text}' is not an ISO 8601 UTC time (for example 2026-01-05T10:15:00.250Z)"));
            return null;
        }

        return time;
    }

    private static void Unknown(JsonElement json, List<ValidationError> errors, byte[][] known)
    {
        foreach (var property in json.EnumerateObject())
        {
            if (!IsKnown(property, known))
            {
                errors.Add(new(property.Name, "is not a known field"));
            }
        }
    }

    private static bool IsKnown(JsonProperty property, byte[][] known)
    {
        foreach (var name in known)
        {
            if (property.NameEquals(name))
            {
                return true;
            }
        }

        return false;
    }

    private static byte[][] Utf8(params string[] names) => [.. names.Select(Encoding.UTF8.GetBytes)];
}
