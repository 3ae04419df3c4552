using DistortSignals.Platform.Messaging;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace DistortSignals.Hub.Tests.Web;

/// <summary>The dashboard in headless Chromium (Debian's, since Playwright cannot download its own here).</summary>
public sealed class DashboardBrowserTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private const string ScreenshotPath = "/tmp/distortsignals-hub-dashboard.png";

    [Fact]
    public async Task Dashboard_shows_the_recent_history_then_bars_signals_and_account_changes_as_they_arrive()
    {
        Assert.True(File.Exists(ChromiumPath),
            $"Chromium is needed at {ChromiumPath} for the dashboard test: install it with `apt-get update && apt-get install -y chromium`");
        await using var server = await HubServer.StartAsync();

        // Playwright's default of 5 s per expectation is short for a first page load on a busy two-core machine.
        SetDefaultExpectTimeout(30_000);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });

        for (var i = 0; i < 3; i++)
        {
            await server.PublishAsync(Topics.Bars, HubTestEvents.Bar("GBPUSD", i, 1.27m + 0.001m * i));
        }

        await page.GotoAsync(server.Address + "?key=" + Uri.EscapeDataString(server.ReaderKey));
        await Expect(page.Locator("#status")).ToHaveAttributeAsync("data-state", "live");
        await Expect(page.Locator(".chart[data-symbol='GBPUSD'] canvas")).ToHaveAttributeAsync("data-bars", "3");
        await Expect(page.Locator("#notice")).ToBeHiddenAsync();

        for (var i = 0; i < 40; i++)
        {
            await server.PublishAsync(Topics.Bars, HubTestEvents.Bar("EURUSD", i, 1.08m + 0.002m * (decimal)Math.Sin(i / 4.0)));
        }

        await server.PublishAsync(Topics.Signals, HubTestEvents.Signal("trend", "EURUSD", 30, "Buy"));
        await server.PublishAsync(Topics.Signals, HubTestEvents.Signal("revert", "EURUSD", 36, "Sell"));
        await server.PublishAsync(Topics.Decisions, HubTestEvents.Decision("acc-1", "trend", "EURUSD", 1));
        await server.PublishAsync(Topics.Accounts, HubTestEvents.AccountState("acc-1", "Closed", version: 1));

        var canvas = page.Locator(".chart[data-symbol='EURUSD'] canvas");
        await Expect(canvas).ToHaveAttributeAsync("data-bars", "40");
        await Expect(canvas).ToHaveAttributeAsync("data-signals", "2");
        var buy = page.Locator("#signals tbody tr[data-symbol='EURUSD'][data-direction='Buy']");
        await Expect(buy).ToHaveCountAsync(1);
        await Expect(buy).ToContainTextAsync("trend");
        await Expect(page.Locator("#signals tbody tr[data-direction='Sell']")).ToHaveCountAsync(1);
        await Expect(page.Locator("#decisions tbody tr")).ToContainTextAsync("risk.decided");
        var account = page.Locator(".account[data-account='acc-1']");
        await Expect(account).ToHaveAttributeAsync("data-breaker", "Closed");

        await server.PublishAsync(Topics.Accounts, HubTestEvents.AccountState("acc-1", "Open", version: 2));

        await Expect(account).ToHaveAttributeAsync("data-breaker", "Open");
        await Expect(account.Locator(".breaker")).ToHaveTextAsync("breaker Open");
        Assert.True(await canvas.EvaluateAsync<bool>(CanvasHasInk), "the chart canvas is blank");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath, FullPage = true });
    }

    // Whether any pixel of the canvas was painted.
    private const string CanvasHasInk = """
        canvas => {
          const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
          for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
          return false;
        }
        """;
}
