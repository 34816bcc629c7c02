"""Account valuation: net liquidation, margin and funds per currency and in base, as IB's account values."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.engine.ledger import Ledger
from simulator.engine.margin import BUYING_POWER_LEVERAGE, Requirement, position_requirement
from simulator.engine.orders import PortfolioItem, Position

# tags IB reports per currency and summed in base (currency "BASE")
PER_CURRENCY_TAGS = ("CashBalance", "TotalCashBalance", "AccruedCash", "StockMarketValue", "OptionMarketValue",
                     "FutureOptionValue", "FuturesPNL", "NetLiquidationByCurrency", "UnrealizedPnL",
                     "RealizedPnL", "ExchangeRate", "NetDividend")


@dataclass
class CurrencyFigures:
    """Amounts in one currency (or, for the totals, in the base currency).

    Parameters:
        cash: cash balance.
        stock_value: signed market value of stocks.
        futures_pnl: futures trading PnL not yet settled into cash (commissions excluded).
        unrealized_pnl: IB-style unrealised PnL of stocks and futures (entry commissions included).
        realized_pnl: PnL realised so far, commissions included.
        gross_position_value: sum of absolute stock values.
        margin: initial and maintenance requirements.
    """

    cash: float = 0.0
    stock_value: float = 0.0
    futures_pnl: float = 0.0
    unrealized_pnl: float = 0.0
    realized_pnl: float = 0.0
    gross_position_value: float = 0.0
    margin: Requirement = field(default_factory=Requirement)

    @property
    def net_liquidation(self) -> float:
        return self.cash + self.stock_value + self.futures_pnl

    def add(self, other: "CurrencyFigures", rate: float) -> None:
        self.cash += other.cash * rate
        self.stock_value += other.stock_value * rate
        self.futures_pnl += other.futures_pnl * rate
        self.unrealized_pnl += other.unrealized_pnl * rate
        self.realized_pnl += other.realized_pnl * rate
        self.gross_position_value += other.gross_position_value * rate
        self.margin = self.margin + other.margin.scaled(rate)


@dataclass
class Valuation:
    """The account at current prices.

    Parameters:
        base_currency: the account's base currency.
        by_currency: figures per currency, in that currency.
        rates: value of one unit of each currency in base.
        total: everything converted to base.
    """

    base_currency: str
    by_currency: dict[str, CurrencyFigures]
    rates: dict[str, float]
    total: CurrencyFigures

    @property
    def net_liquidation(self) -> float:
        return self.total.net_liquidation

    @property
    def equity_with_loan(self) -> float:
        return self.net_liquidation

    @property
    def available_funds(self) -> float:
        return self.equity_with_loan - self.total.margin.initial

    @property
    def excess_liquidity(self) -> float:
        return self.equity_with_loan - self.total.margin.maintenance

    @property
    def buying_power(self) -> float:
        return max(0.0, BUYING_POWER_LEVERAGE * self.available_funds)


def holding_figures(holding, price: float) -> CurrencyFigures:
    """One holding's contribution, in its currency."""
    value = holding.quantity * price * holding.multiplier
    if holding.sec_type == "CASH":
        # a Forex position's value and PnL are already in the cash balances its trades moved
        return CurrencyFigures()
    figures = CurrencyFigures(realized_pnl=holding.realized_pnl)
    if holding.quantity:
        figures.unrealized_pnl = value - holding.quantity * holding.avg_cost
        figures.margin = position_requirement(holding.sec_type, holding.trading_class, holding.quantity, price,
                                              holding.multiplier)
        if holding.sec_type == "FUT":
            figures.futures_pnl = holding.quantity * (price - holding.open_price) * holding.multiplier
        else:
            figures.stock_value = value
            figures.gross_position_value = abs(value)
    return figures


def value_account(ledger: Ledger, market, base_currency: str) -> Valuation:
    """Value cash and holdings at the market's current prices."""
    by_currency: dict[str, CurrencyFigures] = {base_currency: CurrencyFigures()}
    for currency, amount in ledger.cash.items():
        by_currency.setdefault(currency, CurrencyFigures()).cash += amount
    for holding in ledger.holdings.values():
        price = market.price(holding.con_id) if holding.quantity else 0.0
        by_currency.setdefault(holding.currency, CurrencyFigures()).add(holding_figures(holding, price), 1.0)
    rates = {currency: market.fx_rate(currency, base_currency) for currency in by_currency}
    total = CurrencyFigures()
    for currency, figures in by_currency.items():
        total.add(figures, rates[currency])
    return Valuation(base_currency, by_currency, rates, total)


def portfolio_items(ledger: Ledger, market) -> list[PortfolioItem]:
    items = []
    for holding in ledger.open_holdings():
        price = market.price(holding.con_id)
        value = holding.quantity * price * holding.multiplier
        items.append(PortfolioItem(
            con_id=holding.con_id, position=holding.quantity, market_price=price, market_value=_cents(value),
            average_cost=holding.avg_cost, unrealized_pnl=_cents(value - holding.quantity * holding.avg_cost),
            realized_pnl=_cents(holding.realized_pnl), currency=holding.currency))
    return items


def positions(ledger: Ledger) -> list[Position]:
    return [Position(con_id=h.con_id, quantity=h.quantity, avg_cost=h.avg_cost, realized_pnl=h.realized_pnl)
            for h in ledger.open_holdings()]


def _cents(amount: float) -> float:
    rounded = round(amount, 2)
    return 0.0 if rounded == 0 else rounded


def money(amount: float) -> str:
    """IB's text for an amount: two decimals, never "-0.00"."""
    return f"{_cents(amount):.2f}"


def rate_text(rate: float) -> str:
    """An exchange rate with ten significant digits ("1.00" for the base currency itself, as IB writes it)."""
    text = f"{rate:.10g}"
    return text if "." in text or "e" in text else f"{text}.00"


def account_values(valuation: Valuation, account: str) -> list[tuple[str, str, str]]:
    """(tag, value, currency) rows as updateAccountValue carries them.

    Per-currency tags come first with currency "BASE" (the sum in base), then once per currency. Base-only
    tags carry the base currency; descriptive ones an empty currency.
    """
    base = valuation.base_currency
    total = valuation.total
    currencies = [base] + sorted(c for c in valuation.by_currency if c != base)
    rows: list[tuple[str, str, str]] = [
        ("AccountCode", account, ""), ("AccountType", "INDIVIDUAL", ""), ("AccountReady", "true", ""),
        ("Currency", base, "BASE")]
    rows += [("Currency", currency, currency) for currency in currencies]
    columns = [("BASE", total, 1.0)] + [(c, valuation.by_currency[c], valuation.rates[c]) for c in currencies]
    for tag in PER_CURRENCY_TAGS:
        for currency, figures, rate in columns:
            rows.append((tag, _per_currency_value(tag, figures, rate), currency))
    nlv = valuation.net_liquidation
    margin = total.margin
    base_amounts = {
        "NetLiquidation": nlv, "TotalCashValue": total.cash, "SettledCash": total.cash,
        "EquityWithLoanValue": valuation.equity_with_loan, "PreviousDayEquityWithLoanValue": nlv,
        "GrossPositionValue": total.gross_position_value, "RegTEquity": nlv, "RegTMargin": margin.initial,
        "SMA": max(0.0, valuation.available_funds),
        "InitMarginReq": margin.initial, "MaintMarginReq": margin.maintenance,
        "FullInitMarginReq": margin.initial, "FullMaintMarginReq": margin.maintenance,
        "LookAheadInitMarginReq": margin.initial, "LookAheadMaintMarginReq": margin.maintenance,
        "AvailableFunds": valuation.available_funds, "FullAvailableFunds": valuation.available_funds,
        "LookAheadAvailableFunds": valuation.available_funds,
        "ExcessLiquidity": valuation.excess_liquidity, "FullExcessLiquidity": valuation.excess_liquidity,
        "LookAheadExcessLiquidity": valuation.excess_liquidity,
        "BuyingPower": valuation.buying_power,
    }
    rows += [(tag, money(amount), base) for tag, amount in base_amounts.items()]
    cushion = valuation.excess_liquidity / nlv if nlv > 0 else 0.0
    leverage = total.gross_position_value / nlv if nlv > 0 else 0.0
    rows += [("Cushion", f"{cushion:.6f}", ""), ("Leverage-S", f"{leverage:.4f}", ""),
             ("DayTradesRemaining", "-1", ""), ("NLVAndMarginInReview", "false", "")]
    return rows


def _per_currency_value(tag: str, figures: CurrencyFigures, rate: float) -> str:
    if tag == "ExchangeRate":
        return rate_text(rate)
    amounts = {
        "CashBalance": figures.cash, "TotalCashBalance": figures.cash,
        "StockMarketValue": figures.stock_value, "FuturesPNL": figures.futures_pnl,
        "NetLiquidationByCurrency": figures.net_liquidation, "UnrealizedPnL": figures.unrealized_pnl,
        "RealizedPnL": figures.realized_pnl,
    }
    return money(amounts.get(tag, 0.0))
