using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using DistortSignals.Core.Risk;
using DistortSignals.Operator.Controllers;
using DistortSignals.Operator.Kube;
using DistortSignals.Operator.Reconcile;
using DistortSignals.Operator.Tests.Fakes;
using DistortSignals.Platform.Messaging;
using DistortSignals.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using static DistortSignals.Operator.Tests.Fakes.OperatorHarness;

namespace DistortSignals.Operator.Tests;

/// <summary>The operator against the fake API server and the fake roles: a BrokerAccount's configuration, breaker and deletion.</summary>
public sealed class BrokerAccountEndToEndTests : IAsyncLifetime
{
    private OperatorHarness h = null!;

    public async Task InitializeAsync() => h = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await h.DisposeAsync();

    private Task<System.Text.Json.Nodes.JsonObject?> Account() => h.GetAsync(ResourceKind.BrokerAccounts, "paper-main");

    [Fact]
    public async Task The_spec_and_key_hash_go_to_risk_and_gateway_and_the_state_comes_back()
    {
        await h.ApplyAsync(Secret);
        await h.ApplyAsync(OperatorHarness.Account());
        h.StartOperator();

        await Eventually.UntilAsync("Ready", async () => Condition(await Account(), "Ready") == "True");
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("ds_test-key-paper-main")));
        Assert.Contains(h.Roles.Pushes, p => p.AppId == "distortsignals-risk" && p.Account == "paper-main" && p.Body["eaKeySha256"]!.GetValue<string>() == expected);
        Assert.Contains(h.Roles.Pushes, p => p.AppId == "distortsignals-gateway" && p.Account == "paper-main" && p.Body["spec"]!["broker"]!.GetValue<string>() == "Paper");
        var account = await Account();
        Assert.Contains(BrokerAccountController.Finalizer, account!["metadata"]!["finalizers"]!.AsArray().Select(f => f!.GetValue<string>()));
        Assert.Equal("Closed", account["status"]!["circuitBreaker"]!["state"]!.GetValue<string>());
        Assert.Equal(10_000, account["status"]!["account"]!["equity"]!.GetValue<double>());
        Assert.Equal("Active", account["status"]!["phase"]!.GetValue<string>());
        Assert.Equal("True", Condition(account, "CredentialsValid"));
        Assert.Equal("True", Condition(account, "BreakerClosed"));
        Assert.Equal("True", Condition(account, "EaConnected"));
    }

    [Fact]
    public async Task A_missing_secret_makes_CredentialsValid_false_and_pushes_nothing()
    {
        await h.ApplyAsync(OperatorHarness.Account());
        h.StartOperator();
        await Eventually.UntilAsync("CredentialsValid is False", async () => Condition(await Account(), "CredentialsValid") == "False");
        var account = await Account();
        Assert.Equal("SecretNotFound", Condition(account, "CredentialsValid", "reason"));
        Assert.Contains("spec.credentialsSecretRef.name", Condition(account, "CredentialsValid", "message"));
        Assert.Empty(h.Roles.Pushes);

        await h.ApplyAsync(Secret);
        await Eventually.UntilAsync("the resync finds the Secret", async () => Condition(await Account(), "CredentialsValid") == "True");
    }

    [Fact]
    public async Task A_breaker_trip_shows_in_status_within_a_resync_and_a_reset_token_is_forwarded_once()
    {
        await h.ApplyAsync(Secret);
        await h.ApplyAsync(OperatorHarness.Account());
        h.StartOperator();
        await Eventually.UntilAsync("Ready", async () => Condition(await Account(), "Ready") == "True");

        h.Roles.Trip("paper-main", BreakerKind.DailyLoss, "daily loss -3.20% reached the -3% limit");
        await Eventually.UntilAsync("the breaker is Open in status", async () =>
            (await Account())!["status"]!["circuitBreaker"]!["state"]!.GetValue<string>() == "Open");
        var tripped = await Account();
        Assert.Equal("Halted", tripped!["status"]!["phase"]!.GetValue<string>());
        Assert.Equal("DailyLoss", tripped["status"]!["circuitBreaker"]!["reason"]!.GetValue<string>());
        Assert.Equal(-3.2, tripped["status"]!["circuitBreaker"]!["dailyPnlPct"]!.GetValue<double>());
        Assert.Equal("False", Condition(tripped, "BreakerClosed"));
        Assert.Equal("DailyLoss", Condition(tripped, "BreakerClosed", "reason"));
        await Eventually.UntilAsync("a BreakerOpened warning event", () => h.Events("BreakerOpened").Count == 1);

        await h.ApplyAsync(OperatorHarness.Account(extra: "  breakerResetToken: reset-1"));
        await Eventually.UntilAsync("lastResetToken recorded", async () =>
            (await Account())!["status"]!["circuitBreaker"]!["lastResetToken"]?.GetValue<string>() == "reset-1");
        Assert.Equal("Closed", (await Account())!["status"]!["circuitBreaker"]!["state"]!.GetValue<string>());
        var reads = h.Api.Requests.Count(r => r.Method == "GET" && r.Path.EndsWith("brokeraccounts/paper-main", StringComparison.Ordinal));
        await Eventually.UntilAsync("three more reconciles", () =>
            h.Api.Requests.Count(r => r.Method == "GET" && r.Path.EndsWith("brokeraccounts/paper-main", StringComparison.Ordinal)) >= reads + 3);
        var reset = Assert.Single(h.Roles.Resets);
        Assert.Equal(("paper-main", "reset-1"), (reset.Account, reset.Token));
        Assert.Contains("breakerResetToken", reset.Reason);
        Assert.Single(h.Events("BreakerResetRequested"));
    }

    [Fact]
    public async Task A_breaker_changed_event_reconciles_the_account_without_waiting_for_the_resync()
    {
        await h.ApplyAsync(Secret);
        await h.ApplyAsync(OperatorHarness.Account());
        var app = h.StartOperator(resync: TimeSpan.FromHours(1));
        await Eventually.UntilAsync("Ready", async () => Condition(await Account(), "Ready") == "True");

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var web = builder.Build();
        BreakerSubscription.Map(web, () => app.Runtime);
        await web.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(web.Urls.First()) };
        var subscriptions = await http.GetStringAsync("/dapr/subscribe");
        Assert.Contains("\"route\":\"/events/accounts\"", subscriptions);

        h.Roles.Trip("paper-main", BreakerKind.ConsecutiveLosses, "4 losses in a row");
        var cloudEvent = CloudEvent.Create("e1", "risk", "breaker.changed", "paper-main", DateTimeOffset.UtcNow,
            new BreakerChanged("paper-main", BreakerState.Open, BreakerKind.ConsecutiveLosses, "4 losses in a row", DateTimeOffset.UtcNow, null, 2));
        var response = await http.PostAsJsonAsync(BreakerSubscription.Route, cloudEvent);
        response.EnsureSuccessStatusCode();
        Assert.Contains("SUCCESS", await response.Content.ReadAsStringAsync());
        await Eventually.UntilAsync("the breaker is Open in status", async () =>
            (await Account())!["status"]!["circuitBreaker"]!["state"]!.GetValue<string>() == "Open");
    }

    [Fact]
    public async Task Conditions_keep_their_transition_time_while_their_status_holds()
    {
        await h.ApplyAsync(Secret);
        await h.ApplyAsync(OperatorHarness.Account());
        h.StartOperator();
        await Eventually.UntilAsync("Ready", async () => Condition(await Account(), "Ready") == "True");
        var credentialsSince = Condition(await Account(), "CredentialsValid", "lastTransitionTime");
        var breakerSince = Condition(await Account(), "BreakerClosed", "lastTransitionTime");

        await Task.Delay(TimeSpan.FromSeconds(1.1)); // lastTransitionTime has second precision: let a second pass.
        h.Roles.Trip("paper-main", BreakerKind.Drawdown, "drawdown");
        await Eventually.UntilAsync("BreakerClosed is False", async () => Condition(await Account(), "BreakerClosed") == "False");
        var account = await Account();
        Assert.Equal(credentialsSince, Condition(account, "CredentialsValid", "lastTransitionTime"));
        Assert.NotEqual(breakerSince, Condition(account, "BreakerClosed", "lastTransitionTime"));
    }

    [Fact]
    public async Task Deleting_disables_trading_before_the_finalizer_lets_the_resource_go()
    {
        await h.ApplyAsync(Secret);
        await h.ApplyAsync(OperatorHarness.Account());
        h.StartOperator();
        await Eventually.UntilAsync("the finalizer is on", async () =>
            (await Account())?["metadata"]?["finalizers"]?.AsArray().Count == 1);
        // Someone else's finalizer first: ours must be handled wherever it stands.
        await h.Kubectl.JsonPatchAsync(ResourceKind.BrokerAccounts, Namespace, "paper-main", new System.Text.Json.Nodes.JsonArray(
            new System.Text.Json.Nodes.JsonObject { ["op"] = "add", ["path"] = "/metadata/finalizers/0", ["value"] = "example.com/other" }), CancellationToken.None);

        await h.Kubectl.DeleteAsync(ResourceKind.BrokerAccounts, Namespace, "paper-main", CancellationToken.None);
        await Eventually.UntilAsync("only the foreign finalizer is left", async () =>
            (await Account())?["metadata"]?["finalizers"]?.AsArray().Select(f => f!.GetValue<string>()).SequenceEqual(["example.com/other"]) == true);
        Assert.Equal(("paper-main", false), Assert.Single(h.Roles.TradingCalls));

        await h.Kubectl.JsonPatchAsync(ResourceKind.BrokerAccounts, Namespace, "paper-main", new System.Text.Json.Nodes.JsonArray(
            new System.Text.Json.Nodes.JsonObject { ["op"] = "remove", ["path"] = "/metadata/finalizers/0" }), CancellationToken.None);
        Assert.Null(await Account());
    }
}
