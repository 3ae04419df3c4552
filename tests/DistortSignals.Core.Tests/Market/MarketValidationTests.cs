using System.Globalization;
using DistortSignals.Core.Market;
using DistortSignals.Core.Validation;

namespace DistortSignals.Core.Tests.Market;

public class MarketValidationTests
{
    private static readonly DateTimeOffset Minute = new(2024, 1, 1, 10, 0, 0, TimeSpan.Zero);

    private static readonly Tick GoodTick = new("EURUSD", Minute.AddSeconds(5), 1.1000, 1.1002, null, 1, "test");

    private static readonly Bar GoodBar = new("EURUSD", Timeframe.M1, Minute, 100.2, 100.9, 99.8, 100.5, 12, 7);

    private static readonly Instrument GoodInstrument = new("EURUSD", 100_000, 0.0001, 10, 0.01, 0.01, 100, 5);

    /// <summary>Exactly one error, on <paramref name="field"/>, whose message quotes <paramref name="value"/>.</summary>
    private static ValidationError Single(IReadOnlyList<ValidationError> errors, string field, string value)
    {
        var error = Assert.Single(errors);
        Assert.Equal(field, error.Field);
        Assert.Contains(value, error.Message, StringComparison.Ordinal);
        return error;
    }

    [Fact]
    public void Valid_values_give_no_errors()
    {
        Assert.Empty(MarketValidation.Validate(GoodTick));
        Assert.Empty(MarketValidation.Validate(GoodTick with { Bid = null, Ask = null, Last = 1.1001 }));
        Assert.Empty(MarketValidation.Validate(GoodTick with { Bid = 1.1001, Ask = 1.1001, Volume = 0 }));
        Assert.Empty(MarketValidation.Validate(GoodBar));
        Assert.Empty(MarketValidation.Validate(GoodBar with { Open = 100, High = 100, Low = 100, Close = 100, Volume = 0, TickCount = 0 }));
        Assert.Empty(MarketValidation.Validate(GoodInstrument));
        Assert.Empty(MarketValidation.Validate(GoodInstrument with { Symbol = "BRK.B", Digits = 2, PipSize = 0.01 }));
    }

    [Fact]
    public void ValidationError_prints_field_then_message()
    {
        Assert.Equal("bid: 1.1002 is above ask 1.1001", new ValidationError("bid", "1.1002 is above ask 1.1001").ToString());
    }

    [Theory]
    [InlineData("EURUSD")]
    [InlineData("XAU/USD")]
    [InlineData("US30.CASH")]
    [InlineData("BTC-PERP_2")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")]
    public void Symbols_of_the_allowed_characters_up_to_32_long_pass(string symbol)
    {
        Assert.Empty(MarketValidation.Validate(GoodTick with { Symbol = symbol }));
    }

    [Theory]
    [InlineData("eurusd", "\"eurusd\"")]
    [InlineData("EUR USD", "\"EUR USD\"")]
    [InlineData("EURUSD!", "'!'")]
    [InlineData("", "\"\"")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "33 characters")]
    public void A_bad_symbol_is_named_with_its_value(string symbol, string quoted)
    {
        Single(MarketValidation.Validate(GoodTick with { Symbol = symbol }), "symbol", quoted);
    }

    [Fact]
    public void A_null_symbol_is_reported_as_missing()
    {
        Single(MarketValidation.Validate(GoodBar with { Symbol = null! }), "symbol", "null");
    }

    [Fact]
    public void A_default_time_is_not_set()
    {
        var error = Single(MarketValidation.Validate(GoodTick with { Time = default }), "time", "0001-01-01T00:00:00Z");
        Assert.Contains("not set", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_time_with_an_offset_is_not_UTC()
    {
        var time = new DateTimeOffset(2024, 1, 1, 12, 0, 5, TimeSpan.FromHours(2));

        var error = Single(MarketValidation.Validate(GoodTick with { Time = time }), "time", "2024-01-01T12:00:05+02:00");
        Assert.Contains("UTC", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(0.0, "0")]
    [InlineData(-1.5, "-1.5")]
    public void Tick_prices_must_be_finite_and_positive(double bad, string shown)
    {
        Single(MarketValidation.Validate(GoodTick with { Bid = bad }), "bid", shown);
        Single(MarketValidation.Validate(GoodTick with { Ask = bad }), "ask", shown);
        Single(MarketValidation.Validate(GoodTick with { Last = bad }), "last", shown);
    }

    [Fact]
    public void Bid_above_ask_is_refused_naming_both()
    {
        var error = Single(MarketValidation.Validate(GoodTick with { Bid = 1.1002, Ask = 1.1001 }), "bid", "1.1002");

        Assert.Equal("bid: 1.1002 is above ask 1.1001", error.ToString());
    }

    [Fact]
    public void Bid_without_ask_names_the_missing_ask()
    {
        var error = Single(MarketValidation.Validate(GoodTick with { Ask = null, Last = 1.1 }), "ask", "1.1");
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ask_without_bid_names_the_missing_bid()
    {
        var error = Single(MarketValidation.Validate(GoodTick with { Bid = null }), "bid", "1.1002");
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tick_without_any_price_is_refused()
    {
        var error = Assert.Single(MarketValidation.Validate(GoodTick with { Bid = null, Ask = null, Last = null }));
        Assert.Equal("last", error.Field);
        Assert.Contains("bid and ask, or last", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-0.5, "-0.5")]
    [InlineData(double.NaN, "NaN")]
    public void Volume_must_be_finite_and_not_negative(double bad, string shown)
    {
        Single(MarketValidation.Validate(GoodTick with { Volume = bad }), "volume", shown);
        Single(MarketValidation.Validate(GoodBar with { Volume = bad }), "volume", shown);
    }

    [Theory]
    [InlineData("open")]
    [InlineData("high")]
    [InlineData("low")]
    [InlineData("close")]
    public void Bar_prices_must_be_positive(string field)
    {
        var bar = field switch
        {
            "open" => GoodBar with { Open = -3 },
            "high" => GoodBar with { High = -3 },
            "low" => GoodBar with { Low = -3 },
            _ => GoodBar with { Close = -3 },
        };

        Single(MarketValidation.Validate(bar), field, "-3");
    }

    [Fact]
    public void Every_bad_bar_price_is_reported()
    {
        var errors = MarketValidation.Validate(GoodBar with { Open = 0, Close = double.NaN });

        Assert.Equal(["open", "close"], errors.Select(e => e.Field));
    }

    [Fact]
    public void High_below_the_body_is_refused_with_both_values()
    {
        var error = Single(MarketValidation.Validate(GoodBar with { Open = 100.2, Close = 100.1, High = 99.5, Low = 99 }), "high", "99.5");

        Assert.Equal("high: 99.5 is below max(open, close) = 100.2", error.ToString());
    }

    [Fact]
    public void Low_above_the_body_is_refused_with_both_values()
    {
        var error = Single(MarketValidation.Validate(GoodBar with { Open = 100.2, Close = 100.5, Low = 100.3 }), "low", "100.3");

        Assert.Equal("low: 100.3 is above min(open, close) = 100.2", error.ToString());
    }

    [Fact]
    public void High_below_low_is_reported()
    {
        var errors = MarketValidation.Validate(GoodBar with { Open = 100, Close = 100, High = 99, Low = 101 });

        Assert.Contains(errors, e => e.ToString() == "high: 99 is below low 101");
    }

    [Theory]
    [InlineData(Timeframe.M1, "2024-01-01T00:00:30Z")]
    [InlineData(Timeframe.M5, "2024-01-01T00:03:00Z")]
    [InlineData(Timeframe.H4, "2024-01-01T02:00:00Z")]
    [InlineData(Timeframe.D1, "2024-01-01T01:00:00Z")]
    public void Bar_open_time_must_be_aligned_to_its_timeframe(Timeframe timeframe, string time)
    {
        var bar = GoodBar with { Timeframe = timeframe, OpenTime = DateTimeOffset.Parse(time, CultureInfo.InvariantCulture) };

        var error = Single(MarketValidation.Validate(bar), "time", time);
        Assert.Equal($"time: {time} is not aligned to {timeframe}", error.ToString());
    }

    [Fact]
    public void Bar_time_must_be_UTC()
    {
        var bar = GoodBar with { OpenTime = new DateTimeOffset(2024, 1, 1, 11, 0, 0, TimeSpan.FromHours(1)) };

        Single(MarketValidation.Validate(bar), "time", "2024-01-01T11:00:00+01:00");
    }

    [Fact]
    public void Bar_timeframe_must_be_known()
    {
        Single(MarketValidation.Validate(GoodBar with { Timeframe = (Timeframe)42 }), "timeframe", "42");
    }

    [Fact]
    public void Bar_tick_count_must_not_be_negative()
    {
        Single(MarketValidation.Validate(GoodBar with { TickCount = -1 }), "tickCount", "-1");
    }

    [Theory]
    [InlineData("contractSize")]
    [InlineData("pipSize")]
    [InlineData("pipValuePerLot")]
    [InlineData("minLot")]
    [InlineData("lotStep")]
    [InlineData("maxLot")]
    public void Instrument_sizes_must_be_positive(string field)
    {
        var instrument = field switch
        {
            "contractSize" => GoodInstrument with { ContractSize = -7 },
            "pipSize" => GoodInstrument with { PipSize = -7 },
            "pipValuePerLot" => GoodInstrument with { PipValuePerLot = -7 },
            "minLot" => GoodInstrument with { MinLot = -7 },
            "lotStep" => GoodInstrument with { LotStep = -7 },
            _ => GoodInstrument with { MaxLot = -7 },
        };

        Single(MarketValidation.Validate(instrument), field, "-7");
    }

    [Fact]
    public void Instrument_min_lot_must_not_exceed_max_lot()
    {
        var error = Single(MarketValidation.Validate(GoodInstrument with { MinLot = 2, MaxLot = 1.5 }), "minLot", "2");
        Assert.Contains("1.5", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(11)]
    public void Instrument_digits_must_be_0_to_10(int digits)
    {
        Single(MarketValidation.Validate(GoodInstrument with { Digits = digits, PipSize = 1 }), "digits", digits.ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Instrument_pip_must_not_be_finer_than_a_point()
    {
        // Three digits (USDJPY) quote to 0.001, so a pip of 0.0001 cannot be priced.
        var error = Single(MarketValidation.Validate(GoodInstrument with { Symbol = "USDJPY", Digits = 3, PipSize = 0.0001 }), "pipSize", "0.0001");
        Assert.Contains("0.001", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pip_equal_to_a_point_is_allowed()
    {
        Assert.Empty(MarketValidation.Validate(GoodInstrument with { Digits = 4, PipSize = 0.0001 }));
        Assert.Empty(MarketValidation.Validate(GoodInstrument with { Digits = 5, PipSize = 0.00001 }));
    }

    [Fact]
    public void Instrument_point_is_ten_to_the_minus_digits()
    {
        Assert.Equal(0.00001, GoodInstrument.Point);
        Assert.Equal(1, (GoodInstrument with { Digits = 0 }).Point);
    }
}
