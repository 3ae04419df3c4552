namespace DistortSignals.Core.Indicators;

/// <summary>One bar's prices and volume: all that an indicator reads.</summary>
public readonly record struct Ohlcv(double Open, double High, double Low, double Close, double Volume);
