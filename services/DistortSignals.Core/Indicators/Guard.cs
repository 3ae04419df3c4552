using System.Globalization;

namespace DistortSignals.Core.Indicators;

/// <summary>Parameter checks shared by the indicator constructors, with user-facing messages.</summary>
internal static class Guard
{
    public static void AtLeast(int value, int minimum, string name)
    {
        if (value < minimum)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least {minimum}, got {value}");
        }
    }

    public static void Positive(double value, string name)
    {
        if (!double.IsFinite(value) || value <= 0)
        {
            throw new ArgumentOutOfRangeException(
                name, value, $"{name} must be a finite number greater than 0, got {value.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    public static void OutputLength(int barCount, int outputLength)
    {
        if (outputLength < barCount)
        {
            throw new ArgumentException(
                $"output has {outputLength} elements but there are {barCount} bars", "output");
        }
    }

    public static ArgumentOutOfRangeException BadOutputIndex(int index, int count) =>
        new(nameof(index), index, $"index must be between 0 and {count - 1}, got {index}");
}
