using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace DistortSignals.Platform.Observability;

/// <summary>
/// Serves the modules' meters as Prometheus text (the OpenTelemetry Prometheus exporter is not on our
/// package mirror). It listens to every meter whose name starts with <see cref="MeterPrefix"/>: counters
/// and up-down counters are summed, gauges keep the last value, histograms keep count and sum.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    public const string MeterPrefix = "DistortSignals";

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(Instrument Instrument, string Labels), Series> _series = new();

    public PrometheusExporter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name.StartsWith(MeterPrefix, StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>The current values in the Prometheus text exposition format 0.0.4.</summary>
    public string Scrape()
    {
        _listener.RecordObservableInstruments();
        var text = new StringBuilder();
        foreach (var group in _series.GroupBy(s => s.Key.Instrument).OrderBy(g => g.Key.Name, StringComparer.Ordinal))
        {
            var instrument = group.Key;
            var name = MetricName(instrument);
            var histogram = instrument.GetType().Name.StartsWith("Histogram", StringComparison.Ordinal);
            var counter = instrument.GetType().Name.StartsWith("Counter", StringComparison.Ordinal)
                || instrument.GetType().Name.StartsWith("ObservableCounter", StringComparison.Ordinal);
            if (instrument.Description is { Length: > 0 } description)
            {
                text.Append("# HELP ").Append(name).Append(' ').Append(description.Replace('\n', ' ')).Append('\n');
            }

            text.Append("# TYPE ").Append(name).Append(histogram ? " summary\n" : counter ? " counter\n" : " gauge\n");
            foreach (var ((_, labels), series) in group.OrderBy(s => s.Key.Labels, StringComparer.Ordinal))
            {
                if (histogram)
                {
                    text.Append(name).Append("_count").Append(labels).Append(' ').Append(Format(series.Count)).Append('\n');
                    text.Append(name).Append("_sum").Append(labels).Append(' ').Append(Format(series.Sum)).Append('\n');
                }
                else
                {
                    text.Append(name).Append(counter ? "_total" : "").Append(labels).Append(' ').Append(Format(series.Value)).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    /// <summary>The sum over all series of the instrument named <paramref name="instrumentName"/> (0 when nothing was recorded): for live summaries.</summary>
    public double Total(string instrumentName)
    {
        _listener.RecordObservableInstruments();
        var total = 0.0;
        foreach (var ((instrument, _), series) in _series)
        {
            if (instrument.Name == instrumentName)
            {
                lock (series)
                {
                    total += series.Value;
                }
            }
        }

        return total;
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var series = _series.GetOrAdd((instrument, Labels(tags)), _ => new Series());
        var name = instrument.GetType().Name;
        lock (series)
        {
            if (name.StartsWith("Histogram", StringComparison.Ordinal))
            {
                series.Count++;
                series.Sum += value;
            }
            else if (name.StartsWith("Observable", StringComparison.Ordinal) || name.StartsWith("Gauge", StringComparison.Ordinal))
            {
                // Observable instruments report their current total or level on each scrape.
                series.Value = value;
            }
            else
            {
                series.Value += value;
            }
        }
    }

    private static string MetricName(Instrument instrument)
    {
        var name = new StringBuilder();
        foreach (var c in instrument.Name)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        }

        if (instrument.Unit is { Length: > 0 } unit && unit != "{" + instrument.Name + "}" && !unit.StartsWith('{'))
        {
            name.Append('_').Append(unit == "s" ? "seconds" : unit == "ms" ? "milliseconds" : unit == "By" ? "bytes" : unit);
        }

        return name.ToString();
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
        {
            return "";
        }

        var pairs = new List<string>(tags.Length);
        foreach (var (key, value) in tags)
        {
            var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
            pairs.Add($"{key.Replace('.', '_')}=\"{text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"");
        }

        pairs.Sort(StringComparer.Ordinal);
        return "{" + string.Join(',', pairs) + "}";
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private sealed class Series
    {
        public double Value { get; set; }

        public double Count { get; set; }

        public double Sum { get; set; }
    }
}
