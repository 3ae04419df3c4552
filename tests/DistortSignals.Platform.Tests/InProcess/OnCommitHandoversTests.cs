using DistortSignals.Platform.InProcess;

namespace DistortSignals.Platform.Tests.InProcess;

public sealed class OnCommitHandoversTests
{
    [Fact]
    public void The_second_coming_of_an_event_is_refused_once_per_consumer_and_topic()
    {
        var handovers = new OnCommitHandovers(10);

        Assert.True(handovers.FirstComing("hub", "bars", "e1"));
        Assert.True(handovers.FirstComing("risk", "bars", "e1"));
        Assert.True(handovers.FirstComing("hub", "signals", "e1"));
        Assert.False(handovers.FirstComing("hub", "bars", "e1"));
        // Both paths have come and it is forgotten: a redelivery after that is given again, as at-least-once allows.
        Assert.True(handovers.FirstComing("hub", "bars", "e1"));
    }

    [Fact]
    public void An_event_is_forgotten_when_told_or_once_as_many_newer_ones_as_the_capacity_came()
    {
        var handovers = new OnCommitHandovers(3);
        handovers.FirstComing("hub", "bars", "failed");
        handovers.Forget("hub", "bars", "failed");
        Assert.True(handovers.FirstComing("hub", "bars", "failed"));

        foreach (var id in new[] { "e0", "e1", "e2", "e3" })
        {
            Assert.True(handovers.FirstComing("hub", "bars", id));
        }

        Assert.True(handovers.FirstComing("hub", "bars", "e0"));
        Assert.False(handovers.FirstComing("hub", "bars", "e3"));
    }
}
