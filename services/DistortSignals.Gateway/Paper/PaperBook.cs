using DistortSignals.Core.Accounts;
using DistortSignals.Core.Execution;
using DistortSignals.Gateway.Api;

namespace DistortSignals.Gateway.Paper;

/// <summary>
/// A paper account's positions and balance, as a broker would keep them: an OPEN adds a position, a CLOSE closes
/// the symbol's positions of the other side and books their profit. Profit is in the account currency through the
/// instrument's pip value; a symbol without a contract spec is marked at zero profit. Kept in memory: a restart of
/// the host starts the book again from the initial balance.
/// </summary>
internal sealed class PaperBook(BrokerAccountSpec spec, double initialBalance)
{
    private readonly List<PaperPosition> _positions = [];
    private long _nextTicket = 1_000_000;

    public double Balance { get; private set; } = initialBalance;

    public IReadOnlyList<PaperPosition> Positions => _positions;

    /// <summary>Executes <paramref name="directive"/> at <paramref name="price"/>; returns the deal's ticket.</summary>
    public long Execute(TradeDirective directive, double price)
    {
        var ticket = ++_nextTicket;
        if (directive.Action == DirectiveAction.Open)
        {
            _positions.Add(new PaperPosition(ticket, directive.Symbol, directive.Side, directive.Volume, price, directive.Sl, directive.Tp, directive.Magic, TradeDirective.CommentPrefix + directive.Id));
            return ticket;
        }

        var closing = _positions.Where(p => p.Symbol == directive.Symbol && p.Side != directive.Side).ToList();
        foreach (var position in closing)
        {
            Balance += Profit(position, price);
            _positions.Remove(position);
        }

        return ticket;
    }

    /// <summary>Balance plus the open positions' profit at the latest prices (a position without a price counts at its open price).</summary>
    public double Equity(IReadOnlyDictionary<string, double> prices) =>
        Balance + _positions.Sum(p => Profit(p, prices.GetValueOrDefault(p.Symbol, p.OpenPrice)));

    public IReadOnlyList<PositionRequest> Report(IReadOnlyDictionary<string, double> prices) =>
        [.. _positions.Select(p => new PositionRequest(p.Ticket, p.Symbol, p.Side.ToString().ToLowerInvariant(), p.Volume, p.OpenPrice, p.Sl, p.Tp,
            Profit(p, prices.GetValueOrDefault(p.Symbol, p.OpenPrice)), p.Magic, p.Comment))];

    public double PipSize(string symbol) => Instrument(symbol)?.PipSize ?? 0;

    private double Profit(PaperPosition position, double price)
    {
        if (Instrument(position.Symbol) is not { } instrument)
        {
            return 0;
        }

        var direction = position.Side == OrderSide.Buy ? 1 : -1;
        return Math.Round(direction * (price - position.OpenPrice) / instrument.PipSize * instrument.PipValuePerLot * position.Volume, 2);
    }

    private InstrumentSpec? Instrument(string symbol) => spec.Instruments.FirstOrDefault(i => i.Symbol == symbol);
}

internal sealed record PaperPosition(long Ticket, string Symbol, OrderSide Side, double Volume, double OpenPrice, double? Sl, double? Tp, long Magic, string Comment);
