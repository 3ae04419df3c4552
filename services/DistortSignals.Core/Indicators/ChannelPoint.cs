namespace DistortSignals.Core.Indicators;

/// <summary>One bar of a price channel (<see cref="Donchian"/>, <see cref="Keltner"/>).</summary>
public readonly record struct ChannelPoint(double? Upper, double? Center, double? Lower, double? Width);
