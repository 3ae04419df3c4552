using DistortSignals.Core.Accounts;
using DistortSignals.Platform.Accounts;
using DistortSignals.Platform.Resources;
using DistortSignals.Testing;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;

namespace DistortSignals.Platform.Tests.Accounts;

public sealed class LoadedAccountsPushTests
{
    private const string Key = "ds_DEMOKEY-paper-main-PUBLIC-not-for-real-use0";

    private static readonly ResourceSet Resources = new(
        [],
        [new BrokerAccountResource("paper-one", null, new BrokerAccountSpec { Broker = BrokerKind.Paper, CredentialsSecretRef = new SecretKeyReference { Name = "ea", Key = "apiKey" } })],
        new Dictionary<string, SecretResource> { ["ea"] = new("ea", new Dictionary<string, string> { ["apiKey"] = Key }) });

    [Fact]
    public async Task Loaded_accounts_reach_every_sink_with_the_hash_of_their_key_before_the_host_serves()
    {
        var sink = new Sink(failures: 0);
        using var push = new LoadedAccountsPush(Resources, [sink], new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance), NullLogger<LoadedAccountsPush>.Instance);

        await push.StartAsync(CancellationToken.None);

        Assert.True(push.Pushed.Task.IsCompletedSuccessfully);
        var applied = Assert.Single(sink.Applied);
        Assert.Equal(("paper-one", AccountConfigurationEndpoints.Sha256Hex(Key)), (applied.Account, applied.EaKeySha256));
    }

    [Fact]
    public async Task A_failed_push_is_repeated_once_the_application_has_started()
    {
        var sink = new Sink(failures: 2);
        var lifetime = new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance);
        using var push = new LoadedAccountsPush(Resources, [sink], lifetime, NullLogger<LoadedAccountsPush>.Instance);

        await push.StartAsync(CancellationToken.None);
        Assert.False(push.Pushed.Task.IsCompleted);

        lifetime.NotifyStarted();

        await push.Pushed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(3, sink.Attempts);
        Assert.Single(sink.Applied);
        await push.StopAsync(CancellationToken.None);
    }

    private sealed class Sink(int failures) : IAccountConfigurationSink
    {
        private int _failuresLeft = failures;

        public int Attempts { get; private set; }

        public List<AccountConfiguration> Applied { get; } = [];

        public Task ApplyAsync(AccountConfiguration configuration, CancellationToken cancellationToken)
        {
            Attempts++;
            if (_failuresLeft-- > 0)
            {
                throw new HttpRequestException("the sidecar has not placed the actor yet");
            }

            Applied.Add(configuration);
            return Task.CompletedTask;
        }
    }
}
