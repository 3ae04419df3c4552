using System.Globalization;
using System.Text.Json;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Validation;
using DistortSignals.Gateway.Processing;
using DistortSignals.Gateway.Storage;
using DistortSignals.Platform;
using DistortSignals.Platform.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace DistortSignals.Gateway.Api;

/// <summary>
/// The EA contract of DESIGN.md section 4 under <c>/ea/v1</c>, for keys with scope <c>ea:&lt;account&gt;</c>: the
/// account always comes from the key, so another account's directive is simply not found (404, so ids cannot be
/// probed). Bad input is a problem+json naming the field, and changes nothing.
/// </summary>
internal static class EaEndpoints
{
    public const string Prefix = "/ea/v1";
    public const int MaxWaitSeconds = 30;

    /// <summary>Claims and reports are a few hundred bytes; a heartbeat lists up to <see cref="EaValidation.MaxPositions"/> positions.</summary>
    public const long SmallBodyLimit = 16 * 1024;
    public const long HeartbeatBodyLimit = 256 * 1024;

    public static RouteGroupBuilder Map(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup(Prefix).RequireAuthorization(Scopes.Ea);
        group.MapGet("/directives", PollAsync);
        group.MapPost("/directives/{id}/claim", ClaimAsync).WithMetadata(new BodyLimit(SmallBodyLimit));
        group.MapPost("/directives/{id}/report", ReportAsync).WithMetadata(new BodyLimit(SmallBodyLimit));
        group.MapPost("/heartbeat", HeartbeatAsync).WithMetadata(new BodyLimit(HeartbeatBodyLimit));
        return group;
    }

    /// <summary>
    /// The account's pending directives; with <c>wait</c> &gt; 0 and none pending, the request is held until one
    /// arrives (woken by the <see cref="PendingDirectivesFeed"/>) or the wait ends.
    /// </summary>
    private static async Task<IResult> PollAsync(
        HttpContext context, string? wait, PendingDirectivesFeed feed, DirectiveStore store, TimeProvider clock, IOptions<GatewayOptions> options, GatewayMetrics metrics)
    {
        var seconds = 0;
        if (wait is not null && (!int.TryParse(wait, NumberStyles.None, CultureInfo.InvariantCulture, out seconds) || seconds > MaxWaitSeconds))
        {
            return Problems.BadRequest("wait", $"'{wait}' is not a whole number of seconds in 0..{MaxWaitSeconds}");
        }

        var account = context.GetEaAccount();
        var cancellationToken = context.RequestAborted;
        var deadline = clock.GetUtcNow() + TimeSpan.FromSeconds(seconds);
        while (true)
        {
            var generation = feed.Current(account);
            var listening = feed.Listening;
            var snapshot = listening ? generation.Snapshot : null;
            if (snapshot is null)
            {
                snapshot = await store.PendingAsync(account, clock.GetUtcNow(), options.Value.MaxDirectivesPerPoll, cancellationToken);
                if (listening)
                {
                    generation.Snapshot = snapshot;
                }
            }

            var now = clock.GetUtcNow();
            var live = snapshot.Where(d => d.ExpiresAt > now).ToList();
            var remaining = deadline - now;
            if (live.Count > 0 || remaining <= TimeSpan.Zero)
            {
                metrics.Polls.Add(1);
                return Results.Json(new PollAnswer(live, now), PlatformJson.Options);
            }

            var slice = listening ? remaining : TimeSpan.FromTicks(Math.Min(remaining.Ticks, PendingDirectivesFeed.UnlistenedSlice.Ticks));
            // The delay is cancelled on wake-up so that a burst of short polls leaves no timers behind.
            using (var delay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                await Task.WhenAny(generation.Ended, Task.Delay(slice, clock, delay.Token));
                await delay.CancelAsync();
            }

            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private static async Task<IResult> ClaimAsync(string id, HttpContext context, DirectiveLedger ledger)
    {
        var (request, bad) = await ReadAsync<ClaimRequest>(context.Request);
        if (bad is not null)
        {
            return bad;
        }

        if (Invalid(EaValidation.Claim(request!)) is { } invalid)
        {
            return invalid;
        }

        if (!IsDirectiveId(id))
        {
            return Problems.NotFound($"There is no directive {id} for this account.");
        }

        var result = await ledger.ClaimAsync(context.GetEaAccount(), id, request!.TerminalId!, context.RequestAborted);
        return result.Answer is { } answer ? Results.Json(answer, PlatformJson.Options) : Problems.Status(result.Status, result.Problem!);
    }

    private static async Task<IResult> ReportAsync(string id, HttpContext context, DirectiveLedger ledger)
    {
        var (request, bad) = await ReadAsync<ReportRequest>(context.Request);
        if (bad is not null)
        {
            return bad;
        }

        if (Invalid(EaValidation.Report(request!, out var outcome)) is { } invalid)
        {
            return invalid;
        }

        if (!IsDirectiveId(id))
        {
            return Problems.NotFound($"There is no directive {id} for this account.");
        }

        var result = await ledger.ReportAsync(context.GetEaAccount(), id, request!, outcome, context.RequestAborted);
        return result switch
        {
            { Answer: { } answer } => Results.Json(answer, PlatformJson.Options),
            { Field: { } field } => Problems.BadRequest(field, result.Problem!),
            _ => Problems.Status(result.Status, result.Problem!),
        };
    }

    private static async Task<IResult> HeartbeatAsync(HttpContext context, DirectiveLedger ledger, TimeProvider clock)
    {
        var (request, bad) = await ReadAsync<HeartbeatRequest>(context.Request);
        if (bad is not null)
        {
            return bad;
        }

        if (Invalid(EaValidation.Heartbeat(request!, out var positions)) is { } invalid)
        {
            return invalid;
        }

        var heartbeat = new AccountHeartbeat(context.GetEaAccount(), request!.TerminalId!, request.Equity!.Value, request.Balance!.Value, request.Margin!.Value,
            request.FreeMargin!.Value, positions, request.ServerTime, clock.GetUtcNow(), Connected: true);
        return Results.Json(await ledger.HeartbeatAsync(heartbeat, context.RequestAborted), PlatformJson.Options);
    }

    private static bool IsDirectiveId(string id) => id.Length <= TradeDirective.MaxIdLength;

    /// <summary>The body as <typeparamref name="T"/>, or a 400 that says why it is not one.</summary>
    private static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request)
        where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, PlatformJson.Options, request.HttpContext.RequestAborted);
            return value is null ? (null, Problems.BadRequest("body", "must be a JSON object")) : (value, null);
        }
        catch (JsonException e)
        {
            var at = e.Path is null or "$" ? "body" : e.Path.TrimStart('$', '.');
            return (null, Problems.BadRequest(at, $"is not valid JSON for this request: {FirstSentence(e.Message)}"));
        }
    }

    private static string FirstSentence(string message) =>
        message.IndexOf(" Path:", StringComparison.Ordinal) is var at and > 0 ? message[..at] : message;

    private static IResult? Invalid(List<ValidationError> errors) =>
        errors.Count == 0
            ? null
            : TypedResults.ValidationProblem(
                errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
                detail: string.Join("; ", errors.Select(e => e.ToString())));

    /// <summary>An endpoint's own body limit, enforced by the platform's RequestBodyLimit middleware.</summary>
    private sealed record BodyLimit(long? MaxRequestBodySize) : IRequestSizeLimitMetadata;
}
