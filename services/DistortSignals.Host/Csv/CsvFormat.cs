using System.Globalization;

namespace DistortSignals.Host.Csv;

/// <summary>How our CSV output writes values: invariant shortest round-trip numbers, ISO 8601 UTC times, empty for null, RFC 4180 quoting.</summary>
internal static class CsvFormat
{
    public static string Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";

    /// <summary>A text cell, quoted (RFC 4180) when it holds a comma, a quote or a line break, as indicator IDs like MACD(12,26,9) do.</summary>
    public static string Text(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
