using System.Globalization;
using System.Text.Json.Nodes;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Strategies;
using DistortSignals.Core.Validation;
using DistortSignals.Operator.Crds;
using DistortSignals.Platform.Resources;
using DistortSignals.Testing;

namespace DistortSignals.Operator.Tests;

/// <summary>The checked-in CRDs and RBAC are what the classes generate, the schema agrees with the validators, and the examples pass it.</summary>
public sealed class CrdTests
{
    private const string Regenerate = "dotnet run --project operator/DistortSignals.Operator -- generate";

    private static string Root => SharedReference.RepositoryRoot();

    [Fact]
    public void The_checked_in_crds_are_what_the_classes_generate()
    {
        foreach (var (file, crd) in CrdGenerator.Generate())
        {
            var path = Path.Combine(Root, "crds", file);
            Assert.True(File.Exists(path), $"crds/{file} is missing; run: {Regenerate} crds --out crds");
            var expected = Program.Header + Yaml.Write(crd);
            Assert.True(expected == File.ReadAllText(path), $"crds/{file} is out of date with the entity classes; run: {Regenerate} crds --out crds");
        }
    }

    [Fact]
    public void The_checked_in_rbac_is_what_the_generator_writes()
    {
        var path = Path.Combine(Root, "deploy", "operator", "operator-rbac.yaml");
        Assert.True(File.ReadAllText(path) == Program.Header + Yaml.Write(RbacGenerator.Generate()), $"deploy/operator/operator-rbac.yaml is out of date; run: {Regenerate} rbac --out deploy/operator");
    }

    [Fact]
    public void Generate_writes_the_files_it_names()
    {
        var folder = Directory.CreateTempSubdirectory("crds-").FullName;
        try
        {
            var output = new StringWriter();
            Assert.Equal(0, Program.Generate("crds", folder, output));
            Assert.Equal(2, Directory.GetFiles(folder, "*.yaml").Length);
            Assert.Contains("tradingstrategies.trading.distortsignals.io.yaml", output.ToString());
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    [Theory]
    [InlineData("tradingstrategies", "TradingStrategy", "ts")]
    [InlineData("brokeraccounts", "BrokerAccount", "ba")]
    public void The_crd_is_structural_with_status_columns_and_short_names(string plural, string kind, string shortName)
    {
        var crd = Crd(plural);
        var version = crd["spec"]!["versions"]![0]!;
        Assert.Equal(kind, crd["spec"]!["names"]!["kind"]!.GetValue<string>());
        Assert.Contains(shortName, crd["spec"]!["names"]!["shortNames"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.NotNull(version["subresources"]!["status"]);
        var columns = version["additionalPrinterColumns"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("Phase", columns);
        Assert.Contains("Age", columns);
        AssertTyped((JsonObject)version["schema"]!["openAPIV3Schema"]!, "");
    }

    [Fact]
    public void The_columns_show_phase_breaker_and_last_signal()
    {
        Assert.Contains(Columns("brokeraccounts"), c => c.Name == "Breaker" && c.Path == ".status.circuitBreaker.state");
        Assert.Contains(Columns("tradingstrategies"), c => c.Name == "Last Signal" && c.Path == ".status.lastSignal");
    }

    [Fact]
    public void The_cel_rule_on_confirmTimeframe_is_in_the_schema()
    {
        var rules = Spec("tradingstrategies")["x-kubernetes-validations"]!.AsArray();
        Assert.Contains(rules, r => r!["fieldPath"]?.GetValue<string>() == ".confirmTimeframe" && r["rule"]!.GetValue<string>().Contains("self.timeframe", StringComparison.Ordinal));
    }

    /// <summary>Every numeric limit in the schema, at and just beyond its boundary: the schema and the validator agree on each value.</summary>
    [Theory]
    [InlineData("tradingstrategies", "examples/strategies/eurusd-trend.yaml")]
    [InlineData("brokeraccounts", "examples/accounts/paper-main.yaml")]
    public void The_schema_ranges_agree_with_the_validator_at_the_boundaries(string plural, string example)
    {
        var schema = Spec(plural);
        var baseSpec = (JsonObject)YamlManifestReader.ReadFile(Path.Combine(Root, example)).Single().Body["spec"]!;
        var checkedLimits = 0;
        foreach (var (path, leaf) in NumericLeaves(schema, baseSpec, ""))
        {
            var integer = leaf["type"]!.GetValue<string>() == "integer";
            var step = integer ? 1 : 0.001;
            var cases = new List<(double Value, bool Valid)>();
            if (SchemaCheck.Num(leaf["minimum"]) is { } min)
            {
                var exclusive = leaf["exclusiveMinimum"]?.GetValue<bool>() == true;
                cases.Add((min, !exclusive));
                cases.Add((exclusive ? min + step : min - step, exclusive));
            }

            if (SchemaCheck.Num(leaf["maximum"]) is { } max && !(path == "indicators.emaFast"))
            {
                // emaFast at its maximum breaks the cross-field rule emaFast < emaSlow, which is another check.
                cases.Add((max, true));
                cases.Add((max + step, false));
            }

            foreach (var (value, valid) in cases)
            {
                var spec = (JsonObject)baseSpec.DeepClone();
                Set(spec, path, integer ? JsonValue.Create((long)value) : JsonValue.Create(value));
                if (path.EndsWith("maxLot", StringComparison.Ordinal))
                {
                    Set(spec, path.Replace("maxLot", "minLot", StringComparison.Ordinal), JsonValue.Create(0.001));
                }

                var schemaErrors = SchemaCheck.Errors(schema, spec, "spec");
                var field = "spec." + path;
                var validatorErrors = Validate(plural, spec).Where(e => e.Field == field).ToList();
                var what = $"{field} = {value.ToString(CultureInfo.InvariantCulture)}";
                Assert.True(valid == schemaErrors.All(e => !e.StartsWith(field + ":", StringComparison.Ordinal)), $"{what}: the schema should {(valid ? "accept" : "refuse")} it; errors: {string.Join("; ", schemaErrors)}");
                Assert.True(valid == (validatorErrors.Count == 0), $"{what}: the validator should {(valid ? "accept" : "refuse")} it; errors: {string.Join("; ", validatorErrors)}");
            }

            checkedLimits += cases.Count;
        }

        Assert.True(checkedLimits > 20, $"only {checkedLimits} boundary values were checked");
    }

    [Fact]
    public void The_examples_pass_the_generated_schema()
    {
        var documents = new[] { "examples/strategies", "examples/accounts" }
            .SelectMany(folder => YamlManifestReader.ReadFolder(Path.Combine(Root, folder)))
            .Where(d => d.Kind is "TradingStrategy" or "BrokerAccount")
            .ToList();
        Assert.True(documents.Count >= 5, $"found only {documents.Count} example resources");
        foreach (var document in documents)
        {
            var crd = Crd(document.Kind == "TradingStrategy" ? "tradingstrategies" : "brokeraccounts");
            Assert.Equal($"{crd["spec"]!["group"]}/{crd["spec"]!["versions"]![0]!["name"]}", document.ApiVersion);
            var schema = (JsonObject)crd["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!;
            var errors = SchemaCheck.Errors(schema, document.Body);
            Assert.True(errors.Count == 0, $"{document.Source}: {string.Join("; ", errors)}");
        }
    }

    [Fact]
    public void A_bad_manifest_fails_the_schema_naming_each_field()
    {
        var schema = (JsonObject)Crd("tradingstrategies")["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!;
        var body = YamlManifestReader.Read("""
            apiVersion: trading.distortsignals.io/v1alpha1
            kind: TradingStrategy
            metadata: {name: bad}
            spec:
              timeframe: H2
              minStrength: 1.5
              accounts: [Paper_Main]
            """, "bad.yaml").Single().Body;
        var errors = SchemaCheck.Errors(schema, body);
        Assert.Contains(errors, e => e.StartsWith(".spec.symbols: Required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith(".spec.timeframe: Unsupported value", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith(".spec.minStrength: should be less", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith(".spec.accounts[0]: should match", StringComparison.Ordinal));
    }

    private static JsonObject Crd(string plural) =>
        YamlManifestReader.ReadFile(Path.Combine(Root, "crds", $"{plural}.trading.distortsignals.io.yaml")).Single().Body;

    private static JsonObject Spec(string plural) =>
        (JsonObject)Crd(plural)["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!;

    private static List<(string Name, string Path)> Columns(string plural) =>
        [.. Crd(plural)["spec"]!["versions"]![0]!["additionalPrinterColumns"]!.AsArray().Select(c => (c!["name"]!.GetValue<string>(), c["jsonPath"]!.GetValue<string>()))];

    private static IReadOnlyList<ValidationError> Validate(string plural, JsonObject spec)
    {
        if (plural == "tradingstrategies")
        {
            var strategy = ResourceJson.Read<TradingStrategySpec>(spec, "spec", out var problem) ?? throw new InvalidOperationException(problem);
            return TradingStrategyValidator.Validate(strategy);
        }

        var account = ResourceJson.Read<BrokerAccountSpec>(spec, "spec", out var accountProblem) ?? throw new InvalidOperationException(accountProblem);
        return BrokerAccountValidator.Validate(account);
    }

    /// <summary>Paths ("risk.maxDailyLossPct", "instruments[0].pipSize") of numbers with limits; into lists only where the example has an item.</summary>
    private static IEnumerable<(string Path, JsonObject Leaf)> NumericLeaves(JsonObject schema, JsonNode? example, string path)
    {
        var type = schema["type"]?.GetValue<string>();
        if (type is "integer" or "number" && (schema["minimum"] is not null || schema["maximum"] is not null))
        {
            yield return (path, schema);
        }
        else if (type == "object" && schema["properties"] is JsonObject properties)
        {
            foreach (var (name, child) in properties)
            {
                foreach (var leaf in NumericLeaves((JsonObject)child!, example?[name], path.Length == 0 ? name : $"{path}.{name}"))
                {
                    yield return leaf;
                }
            }
        }
        else if (type == "array" && example is JsonArray { Count: > 0 } items)
        {
            foreach (var leaf in NumericLeaves((JsonObject)schema["items"]!, items[0], $"{path}[0]"))
            {
                yield return leaf;
            }
        }
    }

    private static void Set(JsonObject root, string path, JsonNode value)
    {
        JsonNode node = root;
        var parts = path.Split('.');
        foreach (var part in parts[..^1])
        {
            node = part.EndsWith("[0]", StringComparison.Ordinal)
                ? node[part[..^3]]![0]!
                : node[part] ??= new JsonObject();
        }

        node[parts[^1]] = value;
    }

    private static void AssertTyped(JsonObject schema, string path)
    {
        Assert.True(schema["type"] is not null, $"schema node {path} has no type (a structural schema needs one everywhere)");
        foreach (var (name, child) in schema["properties"] as JsonObject ?? [])
        {
            AssertTyped((JsonObject)child!, $"{path}.{name}");
        }

        if (schema["items"] is JsonObject items)
        {
            AssertTyped(items, path + "[]");
        }

        if (schema["additionalProperties"] is JsonObject additional)
        {
            AssertTyped(additional, path + "{}");
        }
    }
}
