using System.Globalization;
using DistortSignals.Core.Market;
using DistortSignals.Core.Strategies;
using DistortSignals.Core.Validation;
using DistortSignals.Platform;
using DistortSignals.Platform.Resources;
using DistortSignals.Platform.Security;
using DistortSignals.Signals.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DistortSignals.Signals.Api;

/// <summary>GET /api/v1/signals (the stored signals, newest first) and GET /api/v1/strategies (the loaded strategies and their activity).</summary>
internal static class SignalsEndpoints
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static RouteGroupBuilder Map(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/v1");
        group.MapGet("/signals", GetSignalsAsync);
        group.MapGet("/strategies", GetStrategiesAsync);
        return group;
    }

    /// <summary>
    /// The query parameters are read as text so that a bad one is answered with its name and the rule it
    /// breaks rather than a binding failure.
    /// </summary>
    private static async Task<IResult> GetSignalsAsync(
        string? strategy, string? symbol, string? from, string? to, string? limit, SignalStore store, CancellationToken cancellationToken)
    {
        if (!TryTime(from, out var start))
        {
            return Problems.BadRequest("from", $"'{from}' is not an ISO 8601 time");
        }

        if (!TryTime(to, out var end))
        {
            return Problems.BadRequest("to", $"'{to}' is not an ISO 8601 time");
        }

        if (start is not null && end is not null && start > end)
        {
            return Problems.BadRequest("from", $"{ValidationRules.Format(start.Value)} is after to ({ValidationRules.Format(end.Value)})");
        }

        var count = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxLimit))
        {
            return Problems.BadRequest("limit", $"'{limit}' is not a whole number in 1..{MaxLimit}");
        }

        var signals = await store.QueryAsync(new SignalQuery(Blank(strategy), Blank(symbol), start, end, count), cancellationToken);
        return Results.Json(new { signals }, PlatformJson.Options);
    }

    private static async Task<IResult> GetStrategiesAsync(ResourceSet resources, SignalStore store, TimeProvider clock, CancellationToken cancellationToken)
    {
        var activity = await store.ActivityAsync(Timeframe.D1.Floor(clock.GetUtcNow()), cancellationToken);
        var strategies = resources.Strategies.Select(s =>
        {
            var seen = activity.GetValueOrDefault(s.Name);
            return new StrategySummary(s.Name, s.Namespace, Summarize(s.Spec), seen?.LastSignal, seen?.SignalsToday ?? 0);
        });
        return Results.Json(new { strategies }, PlatformJson.Options);
    }

    private static SpecSummary Summarize(TradingStrategySpec spec) => new(
        spec.Symbols, spec.Timeframe, spec.ConfirmTimeframe, spec.Weights, spec.MinStrength, spec.Exits, spec.Sessions.Count, spec.Accounts, spec.Paused);

    private static bool TryTime(string? text, out DateTimeOffset? time)
    {
        time = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return false;
        }

        time = parsed;
        return true;
    }

    private static string? Blank(string? text) => string.IsNullOrEmpty(text) ? null : text;

    /// <summary>A loaded strategy as the operator sees it: what it trades and how, and what it did lately (signals today count from 00:00 UTC).</summary>
    internal sealed record StrategySummary(string Name, string? Namespace, SpecSummary Spec, DateTimeOffset? LastSignal, long SignalsToday);

    internal sealed record SpecSummary(
        IReadOnlyList<string> Symbols,
        Timeframe Timeframe,
        Timeframe? ConfirmTimeframe,
        StrategyWeights Weights,
        double MinStrength,
        ExitRules Exits,
        int Sessions,
        IReadOnlyList<string> Accounts,
        bool Paused);
}
