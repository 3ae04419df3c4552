using System.Globalization;

namespace DistortSignals.Core.Indicators;

/// <summary>Builds canonical IDs such as <c>BB(20,2.5)</c>; doubles use the shortest invariant form.</summary>
internal static class IndicatorId
{
    public static string Format(string name, params ReadOnlySpan<double> parameters)
    {
        if (parameters.IsEmpty)
        {
            return name;
        }

        var parts = new string[parameters.Length];
        for (var i = 0; i < parameters.Length; i++)
        {
            parts[i] = parameters[i].ToString(CultureInfo.InvariantCulture);
        }

        return $"{name}({string.Join(',', parts)})";
    }
}
