using System.Globalization;

namespace DistortSignals.Host.Csv;

/// <summary>How our CSV output writes values: invariant shortest round-trip numbers, ISO 8601 UTC times, empty for null.</summary>
internal static class CsvFormat
{
    public static string Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
