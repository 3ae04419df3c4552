using System.Globalization;
using DistortSignals.Core.Indicators;
using DistortSignals.Core.Market;
using DistortSignals.Core.Validation;

namespace DistortSignals.Host.Csv;

/// <summary>One row of an OHLCV file, with the line it came from for error messages.</summary>
internal readonly record struct CsvBar(int Line, DateTimeOffset Time, Ohlcv Values);

/// <summary>
/// Reads OHLCV CSV: a header naming date, open, high, low, close and volume (any order, other columns
/// ignored), then one bar a line in ascending time. Dates are ISO 8601 or "yyyy-MM-dd HH:mm", UTC unless
/// they carry an offset. Prices follow the bar rules of <see cref="MarketValidation"/>. The first bad row
/// stops the read with its line, column and value.
/// </summary>
internal static class BarCsvReader
{
    private static readonly string[] Columns = ["date", "open", "high", "low", "close", "volume"];

    private static readonly string[] DateFormats =
    [
        "yyyy-MM-dd", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss",
        "yyyy-MM-ddTHH:mm:ss.FFFFFFF", "yyyy-MM-ddTHH:mmK", "yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK",
    ];

    public static IEnumerable<CsvBar> Read(TextReader reader, string source)
    {
        var header = reader.ReadLine() ?? throw new CsvInputException(source, 1, null, null, "the file is empty; a header line is required");
        var names = header.TrimStart('\uFEFF').Split(',').Select(n => n.Trim().ToLowerInvariant()).ToArray();
        var index = Columns.Select(c => Array.IndexOf(names, c)).ToArray();
        var missing = Columns.Where((_, i) => index[i] < 0).ToArray();
        if (missing.Length > 0)
        {
            throw new CsvInputException(source, 1, null, header, $"the header lacks {string.Join(", ", missing)}; it must name {string.Join(",", Columns)}");
        }

        DateTimeOffset? previous = null;
        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var cells = line.Split(',');
            if (cells.Length != names.Length)
            {
                throw new CsvInputException(source, lineNumber, null, line, $"has {cells.Length} columns; the header has {names.Length}");
            }

            var dateText = cells[index[0]].Trim();
            if (!DateTimeOffset.TryParseExact(dateText, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
            {
                throw new CsvInputException(source, lineNumber, "date", dateText, "is not an ISO 8601 date or yyyy-MM-dd HH:mm");
            }

            if (time <= previous)
            {
                throw new CsvInputException(source, lineNumber, "date", dateText, $"is not after the previous row's {previous:O}; rows must be in ascending time");
            }

            previous = time;
            var bar = new Ohlcv(
                Number(cells, index[1], "open"),
                Number(cells, index[2], "high"),
                Number(cells, index[3], "low"),
                Number(cells, index[4], "close"),
                Number(cells, index[5], "volume"));
            var errors = new List<ValidationError>();
            MarketValidation.ValidatePrices(errors, bar);
            if (errors.Count > 0)
            {
                throw new CsvInputException(source, lineNumber, errors[0].Field, null, errors[0].Message);
            }

            yield return new CsvBar(lineNumber, time, bar);
        }

        double Number(string[] cells, int column, string name)
        {
            var text = cells[column].Trim();
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
                ? value
                : throw new CsvInputException(source, lineNumber, name, text, "is not a finite number");
        }
    }
}

/// <summary>A CSV input problem, said the way a person fixes it: file, line, column, value, reason.</summary>
internal sealed class CsvInputException(string source, int line, string? column, string? value, string reason)
    : Exception($"{source} line {line}" + (column is null ? "" : $", column {column}") + (value is null ? ": " : $": '{value}' ") + reason)
{
    public int Line { get; } = line;

    public string? Column { get; } = column;
}
