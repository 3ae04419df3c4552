using DistortSignals.Core.Validation;

namespace DistortSignals.Core.Market;

/// <summary>
/// What both aggregators share: the one bar forming for a symbol and timeframe, the instant before which
/// every bar is final (<see cref="ClosedBefore"/>), and the two ways a bar closes — an input for a later
/// bar, or the watermark (now minus the allowed lateness) passing its end.
/// </summary>
/// <remarks>
/// A bar period is final once a later one has started or the watermark has passed it, whether or not
/// it had inputs: otherwise an input for a skipped period would make a bar that is published after its
/// successor. While a bar forms, <see cref="ClosedBefore"/> equals its open time.
/// </remarks>
internal sealed class FormingSeries
{
    internal static readonly TimeSpan DefaultAllowedLateness = TimeSpan.FromSeconds(2);

    private readonly string _symbol;
    private readonly Timeframe _timeframe;
    private readonly TimeSpan _allowedLateness;

    private bool _hasForming;
    private DateTimeOffset _openTime;
    private double _open;
    private double _high;
    private double _low;
    private double _close;
    private double _volume;
    private int _tickCount;

    // Open and close follow input time, not arrival order, so an out-of-order input cannot change them wrongly.
    private DateTimeOffset _firstTime;
    private DateTimeOffset _lastTime;

    public FormingSeries(string symbol, Timeframe timeframe, TimeSpan? allowedLateness)
    {
        var symbolErrors = new List<ValidationError>();
        if (!MarketValidation.ValidateSymbol(symbolErrors, "symbol", symbol))
        {
            throw new ArgumentException(string.Join("; ", symbolErrors), nameof(symbol));
        }

        if (!Enum.IsDefined(timeframe))
        {
            throw new ArgumentOutOfRangeException(nameof(timeframe), timeframe, "unknown timeframe");
        }

        var lateness = allowedLateness ?? DefaultAllowedLateness;
        if (lateness < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(allowedLateness), lateness, "allowed lateness must not be negative");
        }

        _symbol = symbol;
        _timeframe = timeframe;
        _allowedLateness = lateness;
    }

    public string Symbol => _symbol;

    public Timeframe Timeframe => _timeframe;

    public TimeSpan AllowedLateness => _allowedLateness;

    public DateTimeOffset? ClosedBefore { get; private set; }

    public Bar? Forming => _hasForming
        ? new Bar(_symbol, _timeframe, _openTime, _open, _high, _low, _close, _volume, _tickCount)
        : null;

    public DateTimeOffset FirstTime => _firstTime;

    public DateTimeOffset LastTime => _lastTime;

    public bool IsLate(DateTimeOffset time) => ClosedBefore is { } closed && _timeframe.Floor(time) < closed;

    public bool IsInForming(DateTimeOffset time) => _hasForming && _timeframe.Floor(time) == _openTime;

    /// <summary>
    /// True when <paramref name="time"/> is later than every input this series has taken: inputs before the
    /// forming bar are refused as late, so none is later than the forming bar's last input, and when nothing is
    /// forming every input fell before <see cref="ClosedBefore"/>.
    /// </summary>
    public bool IsAfterEveryInput(DateTimeOffset time) =>
        _hasForming ? time > _lastTime : ClosedBefore is not { } closed || time >= closed;

    public ValidationError LateError(DateTimeOffset time) => new(
        "time",
        $"{ValidationRules.Format(time)} falls in the {_timeframe} bar {ValidationRules.Format(_timeframe.Floor(time))}, " +
        $"which is closed (bars before {ValidationRules.Format(ClosedBefore.GetValueOrDefault())} are final)");

    /// <summary>
    /// Folds one input into its bar. An input for a later bar first closes the forming one, which is
    /// returned. The caller has checked <see cref="IsLate"/>.
    /// </summary>
    public Bar? Add(DateTimeOffset time, double open, double high, double low, double close, double volume, int tickCount)
    {
        var barOpen = _timeframe.Floor(time);
        Bar? closed = null;
        if (_hasForming && barOpen != _openTime)
        {
            closed = CloseForming();
        }

        if (_hasForming)
        {
            if (time < _firstTime)
            {
                _open = open;
                _firstTime = time;
            }

            // Equal times keep arrival order: the later arrival is the later price.
            if (time >= _lastTime)
            {
                _close = close;
                _lastTime = time;
            }

            _high = Math.Max(_high, high);
            _low = Math.Min(_low, low);
            _volume += volume;
            _tickCount += tickCount;
        }
        else
        {
            Start(new Bar(_symbol, _timeframe, barOpen, open, high, low, close, volume, tickCount), time, time);
        }

        ClosedBefore = barOpen;
        return closed;
    }

    /// <summary>Closes the forming bar when now minus the allowed lateness has reached its end, and returns it.</summary>
    public Bar? AdvanceWatermark(DateTimeOffset now)
    {
        var watermark = now - _allowedLateness;
        Bar? closed = null;
        if (_hasForming && watermark >= _openTime + _timeframe.Duration())
        {
            closed = CloseForming();
        }

        var final = _timeframe.Floor(watermark);
        if (ClosedBefore is not { } current || final > current)
        {
            ClosedBefore = final;
        }

        return closed;
    }

    /// <summary>Puts back the state a snapshot recorded; throws when the parts contradict each other.</summary>
    public void Restore(DateTimeOffset? closedBefore, Bar? forming, DateTimeOffset firstTime, DateTimeOffset lastTime)
    {
        _hasForming = false;
        ClosedBefore = closedBefore;
        if (forming is null)
        {
            return;
        }

        var errors = MarketValidation.Validate(forming);
        if (errors.Count > 0)
        {
            throw new ArgumentException($"snapshot: the forming bar is invalid: {string.Join("; ", errors)}", nameof(forming));
        }

        if (forming.Symbol != _symbol || forming.Timeframe != _timeframe)
        {
            throw new ArgumentException($"snapshot: the forming bar is {forming.Symbol} {forming.Timeframe}, not {_symbol} {_timeframe}", nameof(forming));
        }

        if (closedBefore != forming.OpenTime)
        {
            throw new ArgumentException("snapshot: closedBefore must equal the forming bar's open time", nameof(closedBefore));
        }

        if (firstTime > lastTime || firstTime < forming.OpenTime || lastTime >= forming.CloseTime)
        {
            throw new ArgumentException("snapshot: the first and last input times must be ordered and inside the forming bar", nameof(firstTime));
        }

        Start(forming, firstTime, lastTime);
    }

    private void Start(Bar bar, DateTimeOffset firstTime, DateTimeOffset lastTime)
    {
        _hasForming = true;
        _openTime = bar.OpenTime;
        _open = bar.Open;
        _high = bar.High;
        _low = bar.Low;
        _close = bar.Close;
        _volume = bar.Volume;
        _tickCount = bar.TickCount;
        _firstTime = firstTime;
        _lastTime = lastTime;
    }

    private Bar CloseForming()
    {
        var bar = Forming!;
        _hasForming = false;
        return bar;
    }
}
