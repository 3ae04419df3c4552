using DistortSignals.Core.Accounts;
using DistortSignals.Platform.Resources;
using DistortSignals.Testing;

namespace DistortSignals.Platform.Tests.Resources;

public sealed class BrokerAccountManifestTests : IDisposable
{
    private const string Key = "ds_DEMOKEY-paper-main-PUBLIC-not-for-real-use0";

    private const string Account = """
        apiVersion: trading.distortsignals.io/v1alpha1
        kind: BrokerAccount
        metadata:
          name: paper-one
        spec:
          broker: Paper
          credentialsSecretRef: {name: paper-one-ea, key: apiKey}
          risk:
            sizing: Kelly
            dayReset: {time: "00:00", timeZone: Europe/London}
          instruments:
            - {symbol: EURUSD, contractSize: 100000, pipSize: 0.0001, pipValuePerLot: 10}
        """;

    private const string Secret = $"""
        apiVersion: v1
        kind: Secret
        metadata:
          name: paper-one-ea
        stringData:
          apiKey: {Key}
        """;

    private const string Strategy = """
        apiVersion: trading.distortsignals.io/v1alpha1
        kind: TradingStrategy
        metadata:
          name: trend
        spec:
          symbols: [EURUSD]
          timeframe: H1
          accounts: [paper-one]
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("ds-accounts-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private ResourceSet Load(params string[] documents)
    {
        File.WriteAllText(Path.Combine(_folder, "all.yaml"), string.Join("\n---\n", documents));
        return ResourceSet.LoadFolder(_folder);
    }

    [Fact]
    public void An_account_its_secret_and_a_strategy_naming_it_load_together()
    {
        var set = Load(Account, Secret, Strategy);

        var account = Assert.Single(set.BrokerAccounts);
        Assert.Equal("paper-one", account.Name);
        Assert.Equal(BrokerKind.Paper, account.Spec.Broker);
        Assert.Equal(SizingMethod.Kelly, account.Spec.Risk.Sizing);
        Assert.Equal("Europe/London", account.Spec.Risk.DayReset.TimeZone);
        Assert.Equal(3, account.Spec.Risk.MaxDailyLossPct);
        Assert.Equal(10, Assert.Single(account.Spec.Instruments).PipValuePerLot);
        Assert.Equal(Key, set.EaKeyOf(account));
    }

    [Fact]
    public void A_strategy_naming_an_undefined_account_is_refused()
    {
        var error = Assert.Throws<ManifestException>(() => Load(Strategy.Replace("[paper-one]", "[paper-one, live-7]", StringComparison.Ordinal), Account, Secret));

        Assert.Contains("TradingStrategy trend: spec.accounts[1]: BrokerAccount 'live-7' is not defined", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_account_whose_secret_is_missing_is_refused()
    {
        var error = Assert.Throws<ManifestException>(() => Load(Account));

        Assert.Contains("BrokerAccount paper-one: spec.credentialsSecretRef.name: Secret 'paper-one-ea' is not defined", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_account_whose_secret_lacks_the_key_is_refused()
    {
        var error = Assert.Throws<ManifestException>(() => Load(Account, Secret.Replace("apiKey:", "token:", StringComparison.Ordinal)));

        Assert.Contains("spec.credentialsSecretRef.key: Secret 'paper-one-ea' has no key 'apiKey'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_key_is_refused_without_showing_it()
    {
        var error = Assert.Throws<ManifestException>(() => Load(Account, Secret.Replace(Key, "hunter2-not-a-key", StringComparison.Ordinal)));

        Assert.Contains("the value of Secret 'paper-one-ea' key 'apiKey' is not an API key", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("broker: Paper", "broker: FXCM", "spec.broker")]
    [InlineData("sizing: Kelly", "sizing: Martingale", "spec.risk.sizing")]
    [InlineData("pipSize: 0.0001", "pipSize: -0.0001", "spec.instruments[0].pipSize: -0.0001 is not positive")]
    [InlineData("timeZone: Europe/London", "timeZone: Mars/Olympus", "spec.risk.dayReset.timeZone: 'Mars/Olympus'")]
    [InlineData("  broker: Paper", "  broker: Paper\n  tradingEnabeld: true", "spec.tradingEnabeld: is not a known field")]
    [InlineData("  credentialsSecretRef: {name: paper-one-ea, key: apiKey}\n", "", "spec.credentialsSecretRef: is required")]
    public void A_bad_account_is_refused_naming_the_file_and_the_field(string find, string replace, string expected)
    {
        var error = Assert.Throws<ManifestException>(() => Load(Account.Replace(find, replace, StringComparison.Ordinal), Secret));

        Assert.Contains("all.yaml", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_account_twice_is_refused()
    {
        var error = Assert.Throws<ManifestException>(() => Load(Account, Account, Secret));

        Assert.Contains("BrokerAccount 'paper-one' is defined 2 times", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_examples_load_with_a_paper_and_an_mt5_account_each_named_by_a_strategy()
    {
        var set = ResourceSet.LoadFolder(Path.Combine(SharedReference.RepositoryRoot(), "examples"));

        var named = set.Strategies.SelectMany(s => s.Spec.Accounts).ToHashSet();
        Assert.Contains(set.BrokerAccounts, a => a.Spec.Broker == BrokerKind.Paper && named.Contains(a.Name));
        Assert.Contains(set.BrokerAccounts, a => a.Spec.Broker == BrokerKind.MT5 && named.Contains(a.Name));
        Assert.All(set.BrokerAccounts, a => Assert.NotNull(set.EaKeyOf(a)));
    }
}
