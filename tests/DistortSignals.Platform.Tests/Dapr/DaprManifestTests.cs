using DistortSignals.Platform.Dapr;
using DistortSignals.Testing;
using YamlDotNet.RepresentationModel;

namespace DistortSignals.Platform.Tests.Dapr;

/// <summary>The Dapr resources in deploy/dapr against the shapes of dapr-http-api.md section 5.</summary>
public sealed class DaprManifestTests
{
    private static readonly string[] RedisFields = ["redisHost", "redisPassword", "consumerID", "enableTLS", "processingTimeout", "redeliverInterval", "concurrency", "queueDepth", "maxLenApprox"];
    private static readonly string[] KafkaFields =
        ["brokers", "authType", "saslUsername", "saslPassword", "saslMechanism", "consumerGroup", "clientID", "initialOffset", "consumeRetryEnabled", "consumeRetryInterval", "maxMessageBytes", "version", "disableTls"];
    private static readonly string[] PostgresFields =
        ["connectionString", "tablePrefix", "metadataTableName", "timeout", "cleanupInterval", "maxConns", "queryExecMode", "actorStateStore"];

    [Theory]
    [InlineData("pubsub-redis.yaml", "pubsub", "pubsub.redis", "v1", new[] { "redisHost" })]
    [InlineData("pubsub-kafka.yaml", "pubsub", "pubsub.kafka", "v1", new[] { "brokers", "authType" })]
    [InlineData("statestore.yaml", "statestore", "state.postgresql", "v2", new[] { "connectionString", "actorStateStore" })]
    [InlineData("local/pubsub.yaml", "pubsub", "pubsub.redis", "v1", new[] { "redisHost" })]
    [InlineData("local/statestore.yaml", "statestore", "state.postgresql", "v2", new[] { "connectionString", "actorStateStore" })]
    public void A_component_has_its_type_version_and_required_fields_as_strings(string file, string name, string type, string version, string[] required)
    {
        var component = Load(file, "Component");

        Assert.Equal(name, Scalar(component, "metadata", "name"));
        Assert.Equal(type, Scalar(component, "spec", "type"));
        Assert.Equal(version, Scalar(component, "spec", "version"));
        var metadata = ((YamlSequenceNode)Node(component, "spec", "metadata")).Children.Cast<YamlMappingNode>().ToList();
        var known = type switch { "pubsub.redis" => RedisFields, "pubsub.kafka" => KafkaFields, _ => PostgresFields };
        foreach (var field in metadata)
        {
            var fieldName = Scalar(field, "name");
            Assert.True(known.Contains(fieldName), $"{file}: {fieldName} is not a field of {type}");
            if (field.Children.TryGetValue(new YamlScalarNode("value"), out var value))
            {
                // Component values are strings: a bare true or 10 would reach Kubernetes as a boolean or a number.
                var scalar = (YamlScalarNode)value;
                Assert.False(scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && (bool.TryParse(scalar.Value, out _) || long.TryParse(scalar.Value, out _)),
                    $"{file}: the value of {fieldName} must be quoted");
            }
            else
            {
                Assert.NotNull(Scalar(field, "secretKeyRef", "name"));
                Assert.NotNull(Scalar(field, "secretKeyRef", "key"));
            }
        }

        Assert.All(required, r => Assert.Contains(metadata, f => Scalar(f, "name") == r));
        if (type == "state.postgresql")
        {
            Assert.Equal("true", Scalar(metadata.Single(f => Scalar(f, "name") == "actorStateStore"), "value"));
        }
    }

    [Fact]
    public void The_resiliency_policy_is_well_formed_and_its_targets_name_defined_policies()
    {
        var resiliency = Load("resiliency.yaml", "Resiliency");
        var policies = (YamlMappingNode)Node(resiliency, "spec", "policies");
        var timeouts = Names(policies, "timeouts");
        var retries = Names(policies, "retries");
        var breakers = Names(policies, "circuitBreakers");

        foreach (var (_, timeout) in ((YamlMappingNode)Node(policies, "timeouts")).Children)
        {
            Assert.True(DaprDuration.ParsePeriod(((YamlScalarNode)timeout).Value, out _) > TimeSpan.Zero);
        }

        foreach (var retry in ((YamlMappingNode)Node(policies, "retries")).Children.Values.Cast<YamlMappingNode>())
        {
            Assert.Contains(Scalar(retry, "policy"), new[] { "constant", "exponential" });
            Assert.True(DaprDuration.ParsePeriod(Scalar(retry, "duration"), out _) > TimeSpan.Zero);
            Assert.True(int.TryParse(Scalar(retry, "maxRetries"), out var maxRetries) && maxRetries >= -1);
        }

        foreach (var breaker in ((YamlMappingNode)Node(policies, "circuitBreakers")).Children.Values.Cast<YamlMappingNode>())
        {
            Assert.True(int.Parse(Scalar(breaker, "maxRequests")!, System.Globalization.CultureInfo.InvariantCulture) >= 1);
            DaprDuration.ParsePeriod(Scalar(breaker, "interval"), out _);
            Assert.True(DaprDuration.ParsePeriod(Scalar(breaker, "timeout"), out _) > TimeSpan.Zero);
            Assert.Matches(@"^consecutiveFailures > \d+$", Scalar(breaker, "trip"));
        }

        var targets = new List<YamlMappingNode>();
        foreach (var component in ((YamlMappingNode)Node(resiliency, "spec", "targets", "components")).Children.Values.Cast<YamlMappingNode>())
        {
            targets.AddRange(component.Children.Values.Cast<YamlMappingNode>());
        }

        var actors = ((YamlMappingNode)Node(resiliency, "spec", "targets", "actors")).Children.Values.Cast<YamlMappingNode>().ToList();
        Assert.All(actors, a => Assert.Contains(Scalar(a, "circuitBreakerScope"), new[] { "id", "type", "both" }));
        targets.AddRange(actors);
        Assert.Equal(["inbound", "outbound"], ((YamlMappingNode)Node(resiliency, "spec", "targets", "components", "pubsub")).Children.Keys.Select(k => k.ToString()).Order());
        foreach (var target in targets)
        {
            Assert.Contains(Scalar(target, "timeout"), timeouts);
            Assert.Contains(Scalar(target, "retry"), retries);
            Assert.Contains(Scalar(target, "circuitBreaker"), breakers);
        }
    }

    [Fact]
    public void The_configuration_traces_everything_to_an_otlp_collector()
    {
        var configuration = Load("configuration.yaml", "Configuration");

        Assert.Equal("1", Scalar(configuration, "spec", "tracing", "samplingRate"));
        Assert.Equal(YamlDotNet.Core.ScalarStyle.DoubleQuoted, ((YamlScalarNode)Node(configuration, "spec", "tracing", "samplingRate")).Style);
        Assert.Matches(@"^[a-z0-9.-]+:\d+$", Scalar(configuration, "spec", "tracing", "otel", "endpointAddress"));
        Assert.Contains(Scalar(configuration, "spec", "tracing", "otel", "protocol"), new[] { "grpc", "http" });
        Assert.Contains(Scalar(configuration, "spec", "tracing", "otel", "isSecure"), new[] { "true", "false" });
    }

    private static YamlMappingNode Load(string file, string kind)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(SharedReference.RepositoryRoot(), "deploy", "dapr", file)))
        {
            stream.Load(reader);
        }

        var document = (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
        Assert.Equal("dapr.io/v1alpha1", Scalar(document, "apiVersion"));
        Assert.Equal(kind, Scalar(document, "kind"));
        return document;
    }

    private static YamlNode Node(YamlMappingNode node, params string[] path)
    {
        YamlNode current = node;
        foreach (var key in path)
        {
            Assert.True(current is YamlMappingNode mapping && mapping.Children.ContainsKey(new YamlScalarNode(key)), $"missing {string.Join('.', path)}");
            current = ((YamlMappingNode)current).Children[new YamlScalarNode(key)];
        }

        return current;
    }

    private static string? Scalar(YamlMappingNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value;

    private static HashSet<string?> Names(YamlMappingNode policies, string kind) =>
        [.. ((YamlMappingNode)Node(policies, kind)).Children.Keys.Select(k => (string?)k.ToString())];
}
