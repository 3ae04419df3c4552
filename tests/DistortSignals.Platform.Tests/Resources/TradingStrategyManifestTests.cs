using DistortSignals.Core.Market;
using DistortSignals.Platform.Resources;
using DistortSignals.Testing;

namespace DistortSignals.Platform.Tests.Resources;

public sealed class TradingStrategyManifestTests
{
    private const string Header = """
        apiVersion: trading.distortsignals.io/v1alpha1
        kind: TradingStrategy
        metadata:
          name: trend
        """;

    private static TradingStrategyResource Parse(string yaml) =>
        TradingStrategyResource.From(Assert.Single(YamlManifestReader.Read(yaml, "test.yaml")));

    private static ManifestException Refused(string yaml) =>
        Assert.Throws<ManifestException>(() => Parse(yaml));

    [Fact]
    public void A_full_manifest_reads_into_the_spec()
    {
        var resource = Parse(Header + """

            spec:
              symbols: [EURUSD, "GBPUSD"]
              timeframe: M15
              confirmTimeframe: H1
              weights: {momentum: 0.5, meanReversion: 0, breakout: 1}
              minStrength: .55
              exits: {stopAtr: 1.5, rewardRisk: 3}
              sessions:
                - days: [Monday, Friday]
                  start: "07:00"
                  end: "16:30"
              accounts: [paper-main]
              paused: true
              replicas: 2
              resources:
                requests: {cpu: 100m, memory: 128Mi}
            """);

        Assert.Equal("trend", resource.Name);
        var spec = resource.Spec;
        Assert.Equal(["EURUSD", "GBPUSD"], spec.Symbols);
        Assert.Equal(Timeframe.M15, spec.Timeframe);
        Assert.Equal(Timeframe.H1, spec.ConfirmTimeframe);
        Assert.Equal((0.5, 0.0, 1.0), (spec.Weights.Momentum, spec.Weights.MeanReversion, spec.Weights.Breakout));
        Assert.Equal(0.55, spec.MinStrength);
        Assert.Equal((1.5, 3.0), (spec.Exits.StopAtr, spec.Exits.RewardRisk));
        Assert.Equal([DayOfWeek.Monday, DayOfWeek.Friday], Assert.Single(spec.Sessions).Days);
        Assert.Equal("16:30", spec.Sessions[0].End);
        Assert.True(spec.Paused);
        Assert.Equal(2, spec.Replicas);
        Assert.Equal("100m", spec.Resources!.Requests["cpu"]);
        Assert.Equal(26, spec.Indicators.EmaSlow);
    }

    [Theory]
    [InlineData("spec:\n  symbols: [EURUSD]\n", "spec.timeframe: is required")]
    [InlineData("spec:\n  symbols: [EURUSD]\n  timeframe: H2\n", "spec.timeframe")]
    [InlineData("spec:\n  symbols: [EURUSD]\n  timeframe: H1\n  minStrenght: 0.5\n", "spec.minStrenght: is not a known field")]
    [InlineData("spec:\n  symbols: [EURUSD]\n  timeframe: H1\n  weights: {momentum: high}\n", "spec.weights.momentum")]
    [InlineData("spec:\n  symbols: [EURUSD]\n  timeframe: H1\n  weights: {momentum: 1.5}\n", "spec.weights.momentum: 1.5 is outside 0..1")]
    [InlineData("spec:\n  symbols: EURUSD\n  timeframe: H1\n", "spec.symbols")]
    [InlineData("spec:\n  symbols: [EURUSD]\n  timeframe: H1\n  replicas: 1.5\n", "spec.replicas")]
    [InlineData("spec:\n  symbols: [EURUSD]\n  timeframe: H1\n  timeframe: H4\n", "line 8, column 3: Duplicate key")]
    [InlineData("", "spec: is required")]
    public void A_bad_spec_is_refused_naming_the_file_and_the_field(string spec, string expected)
    {
        var error = Assert.Throws<ManifestException>(() => Parse(Header + "\n" + spec));

        Assert.StartsWith("test.yaml", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_name_and_a_bad_spec_are_reported_together()
    {
        var error = Refused(Header.Replace("name: trend", "name: Trend_1", StringComparison.Ordinal)
            + "\nspec:\n  symbols: []\n  timeframe: H1\n");

        Assert.Contains(error.Problems, p => p.StartsWith("metadata.name: 'Trend_1'", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.StartsWith("spec.symbols:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_manifest_without_kind_or_name_is_refused()
    {
        var error = Assert.Throws<ManifestException>(() => YamlManifestReader.Read("apiVersion: v1\nmetadata: {}\n", "x.yaml"));

        Assert.Contains("kind: is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("metadata.name: is required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_documents_in_one_file_are_read_in_order_and_named_by_position()
    {
        var documents = YamlManifestReader.Read(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b, namespace: trading}\n",
            "two.yaml");

        Assert.Equal(["a", "b"], documents.Select(d => d.Name));
        Assert.Equal("two.yaml, document 2", documents[1].Source);
        Assert.Equal("trading", documents[1].Namespace);
    }

    [Fact]
    public void Every_shipped_example_strategy_is_valid()
    {
        var examples = Path.Combine(SharedReference.RepositoryRoot(), "examples");
        var strategies = YamlManifestReader.ReadFolder(examples)
            .Where(d => d.Kind == TradingStrategyResource.Kind)
            .Select(TradingStrategyResource.From)
            .ToList();

        Assert.True(strategies.Count >= 2, $"expected at least two example strategies in {examples}");
    }

    [Fact]
    public void A_missing_folder_is_named()
    {
        var error = Assert.Throws<ManifestException>(() => YamlManifestReader.ReadFolder("/no/such/folder"));
        Assert.Contains("/no/such/folder", error.Message, StringComparison.Ordinal);
    }
}
