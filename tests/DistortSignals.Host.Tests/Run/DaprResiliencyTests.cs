using DistortSignals.Platform.Resources;
using DistortSignals.Risk;
using DistortSignals.Testing;

namespace DistortSignals.Host.Tests.Run;

public sealed class DaprResiliencyTests
{
    [Fact]
    public void The_resiliency_policy_targets_the_actor_type_the_risk_role_registers()
    {
        var policy = Assert.Single(YamlManifestReader.Read(
            File.ReadAllText(Path.Combine(SharedReference.RepositoryRoot(), "deploy", "dapr", "resiliency.yaml")), "resiliency.yaml"));

        var actors = policy.Body["spec"]?["targets"]?["actors"]?.AsObject();

        Assert.NotNull(actors);
        Assert.Equal([RiskModule.AccountActorType], actors.Select(a => a.Key));
    }
}
