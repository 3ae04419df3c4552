using System.Text.RegularExpressions;
using DistortSignals.Core.Execution;
using DistortSignals.Core.Validation;

namespace DistortSignals.Gateway.Api;

/// <summary>The checks of the EA's requests; each error names the field (camelCase, as on the wire) and quotes the value.</summary>
internal static partial class EaValidation
{
    public const int MaxIdLength = 64;
    public const int MaxMessageLength = 512;
    public const int MaxPositions = 500;

    /// <summary>Terminal and report ids: what an EA can make from its login, a time and a counter.</summary>
    public const string IdRule = "1 to 64 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'";

    public static readonly IReadOnlyDictionary<string, ExecutionOutcome> Outcomes = new Dictionary<string, ExecutionOutcome>(StringComparer.OrdinalIgnoreCase)
    {
        ["filled"] = ExecutionOutcome.Filled,
        ["partial"] = ExecutionOutcome.Partial,
        ["rejected"] = ExecutionOutcome.Rejected,
        ["failed"] = ExecutionOutcome.Failed,
    };

    public static bool IsId(string? text) => text is not null && IdPattern().IsMatch(text);

    public static List<ValidationError> Claim(ClaimRequest request)
    {
        var errors = new List<ValidationError>();
        Id(errors, "terminalId", request.TerminalId);
        return errors;
    }

    /// <summary>Checks a report on its own; the check against the directive's volume comes once the directive is read.</summary>
    public static List<ValidationError> Report(ReportRequest request, out ExecutionOutcome outcome)
    {
        var errors = new List<ValidationError>();
        Id(errors, "reportId", request.ReportId);
        outcome = default;
        var known = request.Outcome is not null && Outcomes.TryGetValue(request.Outcome, out outcome);
        if (!known)
        {
            errors.Add(new ValidationError("outcome", request.Outcome is null
                ? "is required: filled, partial, rejected or failed"
                : $"'{request.Outcome}' is not one of filled, partial, rejected, failed"));
        }

        var executed = known && (outcome is ExecutionOutcome.Filled or ExecutionOutcome.Partial);
        if (request.FilledVolume is { } volume)
        {
            if (executed)
            {
                ValidationRules.Positive(errors, "filledVolume", volume);
            }
            else if (ValidationRules.NonNegative(errors, "filledVolume", volume) && volume != 0)
            {
                errors.Add(new ValidationError("filledVolume", $"{ValidationRules.Format(volume)} must be 0 for outcome {request.Outcome}"));
            }
        }
        else if (executed)
        {
            errors.Add(new ValidationError("filledVolume", $"is required for outcome {request.Outcome}"));
        }

        if (request.Price is { } price)
        {
            ValidationRules.Positive(errors, "price", price);
        }
        else if (executed)
        {
            errors.Add(new ValidationError("price", $"is required for outcome {request.Outcome}"));
        }

        if (request.Ticket is < 0)
        {
            errors.Add(new ValidationError("ticket", $"{request.Ticket} is negative"));
        }

        if (request.Message is { Length: > MaxMessageLength })
        {
            errors.Add(new ValidationError("message", $"is {request.Message.Length} characters long; at most {MaxMessageLength}"));
        }

        if (request.ExecutedAt is { } executedAt && executedAt == default)
        {
            errors.Add(new ValidationError("executedAt", "is not set"));
        }

        return errors;
    }

    public static List<ValidationError> Heartbeat(HeartbeatRequest request, out List<TerminalPosition> positions)
    {
        var errors = new List<ValidationError>();
        positions = [];
        Id(errors, "terminalId", request.TerminalId);
        Money(errors, "equity", request.Equity);
        Money(errors, "balance", request.Balance);
        Money(errors, "margin", request.Margin, nonNegative: true);
        Money(errors, "freeMargin", request.FreeMargin);
        var list = request.Positions ?? [];
        if (list.Count > MaxPositions)
        {
            errors.Add(new ValidationError("positions", $"has {list.Count} entries; at most {MaxPositions}"));
            return errors;
        }

        for (var i = 0; i < list.Count; i++)
        {
            if (Position(errors, $"positions[{i}]", list[i]) is { } position)
            {
                positions.Add(position);
            }
        }

        return errors;
    }

    private static TerminalPosition? Position(List<ValidationError> errors, string field, PositionRequest? p)
    {
        if (p is null)
        {
            errors.Add(new ValidationError(field, "is null"));
            return null;
        }

        var before = errors.Count;
        if (p.Ticket is not >= 0)
        {
            errors.Add(new ValidationError($"{field}.ticket", p.Ticket is null ? "is required" : $"{p.Ticket} is negative"));
        }

        if (string.IsNullOrWhiteSpace(p.Symbol) || p.Symbol.Length > 32)
        {
            errors.Add(new ValidationError($"{field}.symbol", "is required, at most 32 characters"));
        }

        OrderSide side = default;
        if (p.Side is null || !Enum.TryParse(p.Side, ignoreCase: true, out side) || !Enum.IsDefined(side))
        {
            errors.Add(new ValidationError($"{field}.side", $"'{p.Side}' is not buy or sell"));
        }

        Required(errors, $"{field}.volume", p.Volume, positive: true);
        Required(errors, $"{field}.openPrice", p.OpenPrice, positive: true);
        Optional(errors, $"{field}.sl", p.Sl);
        Optional(errors, $"{field}.tp", p.Tp);
        Optional(errors, $"{field}.profit", p.Profit);
        if (p.Comment is { Length: > 64 })
        {
            errors.Add(new ValidationError($"{field}.comment", "is longer than 64 characters"));
        }

        return errors.Count > before
            ? null
            : new TerminalPosition(p.Ticket!.Value, p.Symbol!, side, p.Volume!.Value, p.OpenPrice!.Value, p.Sl, p.Tp, p.Profit ?? 0, p.Magic ?? 0, p.Comment);
    }

    private static void Money(List<ValidationError> errors, string field, double? value, bool nonNegative = false)
    {
        if (value is null)
        {
            errors.Add(new ValidationError(field, "is required"));
        }
        else if (nonNegative)
        {
            ValidationRules.NonNegative(errors, field, value.Value);
        }
        else
        {
            ValidationRules.Finite(errors, field, value.Value);
        }
    }

    private static void Required(List<ValidationError> errors, string field, double? value, bool positive)
    {
        if (value is null)
        {
            errors.Add(new ValidationError(field, "is required"));
        }
        else if (positive)
        {
            ValidationRules.Positive(errors, field, value.Value);
        }
    }

    private static void Optional(List<ValidationError> errors, string field, double? value)
    {
        if (value is { } v)
        {
            ValidationRules.Finite(errors, field, v);
        }
    }

    private static void Id(List<ValidationError> errors, string field, string? value)
    {
        if (value is null)
        {
            errors.Add(new ValidationError(field, $"is required: {IdRule}"));
        }
        else if (!IsId(value))
        {
            errors.Add(new ValidationError(field, $"'{Shorten(value)}' is not {IdRule}"));
        }
    }

    private static string Shorten(string value) => value.Length <= 80 ? value : value[..80] + "...";

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$")]
    private static partial Regex IdPattern();
}
