using System.Runtime.CompilerServices;

namespace DistortSignals.Core.Indicators;

/// <summary>The single place where indicator arithmetic turns into published values.</summary>
internal static class Numeric
{
    /// <summary>
    /// Overflow (1e300 squared), 0/0 and similar degenerate arithmetic must never leak out as NaN or
    /// infinity: every published value passes through here and such results become null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double? OrNull(double value) => double.IsFinite(value) ? value : null;
}
