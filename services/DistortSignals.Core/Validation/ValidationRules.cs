using System.Globalization;

namespace DistortSignals.Core.Validation;

/// <summary>
/// Field checks shared by every validator in Core. Each appends at most one error and says whether the
/// value passed, so that callers can skip rules that compare values already known to be bad.
/// </summary>
public static class ValidationRules
{
    public static bool Finite(ICollection<ValidationError> errors, string field, double value)
    {
        if (double.IsFinite(value))
        {
            return true;
        }

        errors.Add(new ValidationError(field, $"{Format(value)} is not a finite number"));
        return false;
    }

    public static bool Positive(ICollection<ValidationError> errors, string field, double value)
    {
        if (!Finite(errors, field, value))
        {
            return false;
        }

        if (value > 0)
        {
            return true;
        }

        errors.Add(new ValidationError(field, $"{Format(value)} is not positive"));
        return false;
    }

    public static bool NonNegative(ICollection<ValidationError> errors, string field, double value)
    {
        if (!Finite(errors, field, value))
        {
            return false;
        }

        if (value >= 0)
        {
            return true;
        }

        errors.Add(new ValidationError(field, $"{Format(value)} is negative"));
        return false;
    }

    /// <summary>A set instant with offset zero: the platform stores and compares only UTC.</summary>
    public static bool Utc(ICollection<ValidationError> errors, string field, DateTimeOffset value)
    {
        if (value == default)
        {
            errors.Add(new ValidationError(field, $"{Format(value)} is not set"));
            return false;
        }

        if (value.Offset != TimeSpan.Zero)
        {
            errors.Add(new ValidationError(field, $"{Format(value)} is not UTC (offset must be zero)"));
            return false;
        }

        return true;
    }

    /// <summary>Shortest round-trip form, culture-free, so a message shows exactly the value received.</summary>
    public static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>ISO 8601 with <c>Z</c> for UTC and no trailing zero fractions, e.g. <c>2024-01-01T00:00:30Z</c>.</summary>
    public static string Format(DateTimeOffset value) => value.Offset == TimeSpan.Zero
        ? value.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture)
        : value.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture);
}
