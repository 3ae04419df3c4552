using System.Globalization;
using System.Text;
using System.Text.Json;
using DistortSignals.Core.Indicators;

using DistortSignals.Testing;

namespace DistortSignals.Core.Tests.Indicators;

/// <summary>
/// Every output of every reference configuration on both reference series, bar by bar, streaming and
/// batch, against /shared/reference/indicators/expected.json (read at test time).
/// </summary>
public class ReferenceValueTests
{
    private static readonly string[] SeriesNames = ["standard", "compare"];
    private static readonly Lazy<Reference> Data = new(Reference.Load);

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var series in SeriesNames)
        {
            foreach (var id in IndicatorTestData.ReferenceIds)
            {
                data.Add(series, id);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Streaming_and_batch_match_the_reference(string series, string id)
    {
        var reference = Data.Value;
        var bars = reference.Bars[series];
        var expected = reference.Expected(series, id);
        var indicator = IndicatorCatalog.Create(id);

        Assert.Equal(id, indicator.Id);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), indicator.Outputs.Order(StringComparer.Ordinal));
        foreach (var values in expected.Values)
        {
            Assert.Equal(bars.Length, values.Length);
        }

        var failures = new StringBuilder();
        var failureCount = 0;
        var streamed = IndicatorTestData.Stream(id, bars);
        var batched = IndicatorTestData.Batch(indicator, bars);
        Compare("streaming", streamed);
        Compare("batch", batched);
        Assert.True(failureCount == 0, $"{failureCount} mismatches; first ones:\n{failures}");

        void Compare(string mode, double?[][] actual)
        {
            for (var o = 0; o < indicator.Outputs.Count; o++)
            {
                var name = indicator.Outputs[o];
                var want = expected[name];
                for (var i = 0; i < bars.Length; i++)
                {
                    if (!Matches(want[i], actual[o][i]) && ++failureCount <= 20)
                    {
                        failures.AppendLine(CultureInfo.InvariantCulture,
                            $"{mode} series={series} indicator={id} output={name} bar={i}: expected {Show(want[i])}, actual {Show(actual[o][i])}");
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Warmup_period_and_is_ready_match_the_first_fully_defined_bar(string series, string id)
    {
        var reference = Data.Value;
        var bars = reference.Bars[series];
        var expected = reference.Expected(series, id);
        var indicator = IndicatorCatalog.Create(id);
        var defined = IndicatorTestData.DefinedOutputs(indicator).Select(o => expected[indicator.Outputs[o]]).ToArray();
        var firstReady = Enumerable.Range(0, bars.Length).First(i => defined.All(values => values[i] is not null));

        Assert.Equal(firstReady + 1, indicator.WarmupPeriod);
        for (var i = 0; i < bars.Length; i++)
        {
            indicator.Update(in bars[i]);
            Assert.True(indicator.IsReady == (i >= firstReady), $"{series} {id}: IsReady={indicator.IsReady} at bar {i}, first fully defined bar {firstReady}");
        }
    }

    private static bool Matches(double? expected, double? actual)
    {
        if (actual is double a && !double.IsFinite(a))
        {
            return false;
        }

        if (expected is null || actual is null)
        {
            return expected is null && actual is null;
        }

        return Math.Abs(actual.Value - expected.Value) <= 1e-9 * Math.Max(1, Math.Abs(expected.Value));
    }

    private static string Show(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "null";

    private sealed class Reference
    {
        private readonly JsonElement _series;

        private Reference(JsonElement series, Dictionary<string, Ohlcv[]> bars)
        {
            _series = series;
            Bars = bars;
        }

        public Dictionary<string, Ohlcv[]> Bars { get; }

        public static Reference Load()
        {
            var folder = SharedReference.Directory(Path.Combine("reference", "indicators"));
            var expectedPath = Path.Combine(folder, "expected.json");
            Assert.True(File.Exists(expectedPath), $"missing reference file {expectedPath}");
            using var document = JsonDocument.Parse(File.ReadAllBytes(expectedPath));
            var series = document.RootElement.GetProperty("series").Clone();
            var bars = SeriesNames.ToDictionary(name => name, name => ReadCsv(Path.Combine(folder, $"normalized-{name}.csv")));
            foreach (var (name, values) in bars)
            {
                Assert.Equal(series.GetProperty(name).GetProperty("count").GetInt32(), values.Length);
            }

            return new Reference(series, bars);
        }

        public Dictionary<string, double?[]> Expected(string series, string id)
        {
            var outputs = _series.GetProperty(series).GetProperty("indicators").GetProperty(id).GetProperty("outputs");
            return outputs.EnumerateObject().ToDictionary(
                p => p.Name,
                p => p.Value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? (double?)null : v.GetDouble()).ToArray());
        }

        private static Ohlcv[] ReadCsv(string path)
        {
            Assert.True(File.Exists(path), $"missing reference file {path}");
            return File.ReadLines(path).Skip(1).Where(line => line.Length > 0).Select(line =>
            {
                var f = line.Split(',');
                return new Ohlcv(Number(f[1]), Number(f[2]), Number(f[3]), Number(f[4]), Number(f[5]));
            }).ToArray();
        }

        private static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
