using System.Net.Http.Json;
using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Gateway.Api;
using DistortSignals.Gateway.Storage;
using DistortSignals.Platform;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DistortSignals.Gateway.Paper;

/// <summary>
/// The built-in terminal for <c>broker: Paper</c> accounts. It is an EA like any other: it speaks the HTTP
/// contract to this host's own address with the account's key (poll with wait, claim, report, heartbeat), so
/// everything it does goes through the same checks, state machine and events as an MT5 terminal. It fills at the
/// symbol's latest close (from bar.closed) moved against the order by <see cref="GatewayOptions.PaperSlippagePips"/>,
/// fails a directive whose symbol has no price yet, and sends heartbeats with its equity marked to market.
/// </summary>
internal sealed partial class PaperTerminal(
    ResourceSet resources,
    IServer server,
    IHostApplicationLifetime lifetime,
    DirectiveStore store,
    IOptions<GatewayOptions> options,
    TimeProvider clock,
    ILogger<PaperTerminal> logger) : BackgroundService
{
    /// <summary>MT5's TRADE_RETCODE_DONE and TRADE_RETCODE_PRICE_OFF, so reports read like a real terminal's.</summary>
    public const int RetcodeDone = 10009;
    public const int RetcodePriceOff = 10021;

    private readonly GatewayOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var accounts = resources.BrokerAccounts
            .Where(a => a.Spec.Broker == BrokerKind.Paper)
            .Select(a => (Account: a, Key: resources.EaKeyOf(a)))
            .Where(a => a.Key is not null)
            .ToList();
        if (accounts.Count == 0)
        {
            return;
        }

        // The server's addresses are known only once it listens.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        await using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        if (OwnAddress(server) is not { } address)
        {
            LogNoAddress(logger);
            return;
        }

        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(EaEndpoints.MaxWaitSeconds + 30) };
        LogStarted(logger, accounts.Count, address);
        await Task.WhenAll(accounts.Select(a => RunAccountAsync(http, a.Account.Name, a.Account.Spec, a.Key!, stoppingToken)));
    }

    /// <summary>An http address of this server that the process can reach itself: a wildcard host becomes the loopback.</summary>
    internal static Uri? OwnAddress(IServer server)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var text in addresses.OrderBy(a => a.StartsWith("https", StringComparison.OrdinalIgnoreCase)))
        {
            var binding = BindingAddress.Parse(text);
            if (binding.IsUnixPipe)
            {
                continue;
            }

            var host = binding.Host is "0.0.0.0" or "[::]" or "::" or "+" or "*" ? "127.0.0.1" : binding.Host;
            return new UriBuilder(binding.Scheme, host, binding.Port).Uri;
        }

        return null;
    }

    private async Task RunAccountAsync(HttpClient http, string account, BrokerAccountSpec spec, string key, CancellationToken stoppingToken)
    {
        var book = new PaperBook(spec, _options.PaperInitialBalance);
        var terminalId = "paper-" + account;
        var pollSeconds = _options.PollSeconds;
        var nextHeartbeat = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (clock.GetUtcNow() >= nextHeartbeat)
                {
                    pollSeconds = await HeartbeatAsync(http, key, account, terminalId, spec, book, stoppingToken) ?? pollSeconds;
                    nextHeartbeat = clock.GetUtcNow() + TimeSpan.FromSeconds(pollSeconds);
                }

                // At least a second: a poll that answered at once in a loop would only spend the key's rate limit.
                var wait = Math.Clamp((int)Math.Ceiling((nextHeartbeat - clock.GetUtcNow()).TotalSeconds), 1, EaEndpoints.MaxWaitSeconds);
                using var poll = Request(HttpMethod.Get, $"{EaEndpoints.Prefix}/directives?wait={wait}", key, null);
                using var response = await http.SendAsync(poll, stoppingToken);
                if (!response.IsSuccessStatusCode)
                {
                    LogRefused(logger, account, "poll", (int)response.StatusCode);
                    await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken);
                    continue;
                }

                var answer = await response.Content.ReadFromJsonAsync<PollAnswer>(PlatformJson.Options, stoppingToken);
                var directives = answer?.Directives ?? [];
                var executed = 0;
                foreach (var directive in directives)
                {
                    executed += await ExecuteAsync(http, key, terminalId, book, directive, stoppingToken) ? 1 : 0;
                }

                if (directives.Count > 0 && executed == 0)
                {
                    // Pending directives it could not claim come back at once; do not spin on them.
                    await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error) when (error is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
            {
                LogFailed(logger, error, account);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Claims, fills and reports one directive; false when it was not this terminal's to execute.</summary>
    private async Task<bool> ExecuteAsync(HttpClient http, string key, string terminalId, PaperBook book, TradeDirective directive, CancellationToken cancellationToken)
    {
        if (directive.ExpiresAt <= clock.GetUtcNow())
        {
            return false;
        }

        using (var claim = Request(HttpMethod.Post, $"{EaEndpoints.Prefix}/directives/{directive.Id}/claim", key, new ClaimRequest(terminalId)))
        using (var claimed = await http.SendAsync(claim, cancellationToken))
        {
            if (!claimed.IsSuccessStatusCode)
            {
                // Another terminal holds it, or it expired or was cancelled meanwhile: nothing to do.
                LogRefused(logger, directive.Account, $"claim of {directive.Id}", (int)claimed.StatusCode);
                return false;
            }
        }

        var prices = await store.LatestPricesAsync([directive.Symbol], cancellationToken);
        var now = clock.GetUtcNow();
        ReportRequest report;
        if (!prices.TryGetValue(directive.Symbol, out var close))
        {
            report = new ReportRequest("paper-" + directive.Id, "failed", null, 0, null, RetcodePriceOff, $"no price for {directive.Symbol} yet", now);
        }
        else
        {
            var slippage = _options.PaperSlippagePips * book.PipSize(directive.Symbol);
            var price = directive.Side == OrderSide.Buy ? close + slippage : close - slippage;
            var ticket = book.Execute(directive, price);
            report = new ReportRequest("paper-" + directive.Id, "filled", ticket, directive.Volume, price, RetcodeDone, "paper fill", now);
        }

        // The report id is fixed per directive, so a report whose answer was lost can be sent again safely.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var request = Request(HttpMethod.Post, $"{EaEndpoints.Prefix}/directives/{directive.Id}/report", key, report);
                using var response = await http.SendAsync(request, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    LogRefused(logger, directive.Account, $"report of {directive.Id}", (int)response.StatusCode);
                }

                return true;
            }
            catch (HttpRequestException) when (attempt < 3)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), clock, cancellationToken);
            }
        }
    }

    private async Task<int?> HeartbeatAsync(HttpClient http, string key, string account, string terminalId, BrokerAccountSpec spec, PaperBook book, CancellationToken cancellationToken)
    {
        var symbols = spec.Instruments.Select(i => i.Symbol).Concat(book.Positions.Select(p => p.Symbol)).Distinct().ToList();
        var prices = await store.LatestPricesAsync(symbols, cancellationToken);
        var equity = book.Equity(prices);
        var body = new HeartbeatRequest(terminalId, equity, book.Balance, 0, equity, [.. book.Report(prices)], clock.GetUtcNow());
        using var request = Request(HttpMethod.Post, $"{EaEndpoints.Prefix}/heartbeat", key, body);
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            LogRefused(logger, account, "heartbeat", (int)response.StatusCode);
            return null;
        }

        var answer = await response.Content.ReadFromJsonAsync<HeartbeatAnswer>(PlatformJson.Options, cancellationToken);
        return answer?.PollSeconds;
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string key, object? body)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add(ApiKeyAuthenticationHandler.HeaderName, key);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: PlatformJson.Options);
        }

        return request;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The paper terminal runs {Count} paper account(s) against {Address}")]
    private static partial void LogStarted(ILogger logger, int count, Uri address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The paper terminal found no HTTP address of this server and does not run")]
    private static partial void LogNoAddress(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Paper terminal of {Account}: the {What} was answered {Status}")]
    private static partial void LogRefused(ILogger logger, string account, string what, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Paper terminal of {Account}: a request failed; trying again in a second")]
    private static partial void LogFailed(ILogger logger, Exception error, string account);
}
