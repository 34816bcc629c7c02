"""Request handlers for reference data: option chains and option computations, smart components, family codes,
news, user info, fundamentals, Wall Street Horizon, soft dollar tiers, financial-advisor data, exercises.

A paper account has no news, fundamentals or Wall Street Horizon subscriptions and is no advisor account, so
those requests end with the errors IB sends for that case; the rest are answered from the catalog and the market.
"""

from __future__ import annotations

from simulator.engine import options
from simulator.gateway.handlers_market import NO_SECURITY_DEFINITION, resolve_one
from simulator.gateway.session import Session
from simulator.protocol import messages_reference
from simulator.protocol.messages import NO_VALID_ID
from simulator.protocol.requests_reference import (
    ExerciseOptions, FaRequest, QueryDisplayGroups, ReqFamilyCodes, ReqFundamentalData, ReqHistoricalNews,
    ReqNewsArticle, ReqNewsProviders, ReqOptionCalculation, ReqSecDefOptParams, ReqSmartComponents, ReqSoftDollarTiers,
    ReqUserInfo, ReqWshData, SubscribeToGroupEvents)

# the exchanges a chain is reported on, one securityDefinitionOptionParameter each
OPTION_EXCHANGES = ("SMART", "CBOE")
# SMART's component exchanges as reqSmartComponents lists them: (bit number, exchange, exchange letter)
SMART_COMPONENTS = [(1, "ARCA", "P"), (2, "NASDAQ", "Q"), (3, "NYSE", "N"), (4, "BATS", "Z"), (5, "IEX", "V"),
                    (6, "EDGX", "K"), (7, "MEMX", "U"), (8, "AMEX", "A"), (9, "CBOE", "W")]
# ib_insync issue 617 (reqWshMetaData) and TWS API message codes: a request for news, articles or WSH data
# without the subscription ends with 10276 on its id
NEWS_NOT_ALLOWED = (10276, "News feed is not allowed.")
# ib_insync issue 369: reqFundamentalData without the Reuters subscription ends with 430 on its id
FUNDAMENTALS_NOT_ALLOWED = (430, "The fundamentals data for the security specified is not available.Not allowed")
# TWS API message code 321 as IB Gateway sends it for requestFA (on no id) and replaceFA (on its id) of a
# non-FA account
NOT_FA = "Error validating request.-'b9' : cause - FA data operations ignored for non FA customers."


# Display groups are TWS's colour-linked windows (TWS API docs, display_groups.html); IB Gateway has no windows, so
# the list of visible groups is empty and a subscription reports "none", ibapi's EWrapper.displayGroupUpdated value
# for an empty selection, once after subscribing
NO_DISPLAY_GROUPS = ""
EMPTY_SELECTION = "none"


def _handle_query_display_groups(session: Session, request: QueryDisplayGroups) -> None:
    session.send(messages_reference.display_group_list(request.req_id, NO_DISPLAY_GROUPS))


def _handle_subscribe_to_group_events(session: Session, request: SubscribeToGroupEvents) -> None:
    session.send(messages_reference.display_group_updated(request.req_id, EMPTY_SELECTION))


def _handle_smart_components(session: Session, request: ReqSmartComponents) -> None:
    session.send(messages_reference.smart_components(request.req_id, SMART_COMPONENTS))


def _handle_family_codes(session: Session, request: ReqFamilyCodes) -> None:
    # an individual account belongs to no family: IB lists it with an empty code
    session.send(messages_reference.family_codes([(session.world.account, "")]))


def _handle_news_providers(session: Session, request: ReqNewsProviders) -> None:
    session.send(messages_reference.news_providers([]))


def _handle_news_article(session: Session, request: ReqNewsArticle) -> None:
    session.error(request.req_id, *NEWS_NOT_ALLOWED)


def _handle_historical_news(session: Session, request: ReqHistoricalNews) -> None:
    session.error(request.req_id, *NEWS_NOT_ALLOWED)


def _handle_wsh(session: Session, request: ReqWshData) -> None:
    session.error(request.req_id, *NEWS_NOT_ALLOWED)


def _handle_user_info(session: Session, request: ReqUserInfo) -> None:
    # whiteBrandingId is empty for accounts not opened through a white-branded broker
    session.send(messages_reference.user_info(request.req_id, ""))


def _handle_soft_dollar_tiers(session: Session, request: ReqSoftDollarTiers) -> None:
    session.send(messages_reference.soft_dollar_tiers(request.req_id, []))


def _handle_fundamental_data(session: Session, request: ReqFundamentalData) -> None:
    if resolve_one(session, request.req_id, request.contract) is not None:
        session.error(request.req_id, *FUNDAMENTALS_NOT_ALLOWED)


def _handle_fa(session: Session, request: FaRequest) -> None:
    session.error(request.req_id if request.msg_id == 19 else NO_VALID_ID, 321, NOT_FA)


def _handle_exercise(session: Session, request: ExerciseOptions) -> None:
    spec = resolve_one(session, request.req_id, request.contract)
    if spec is None:
        return
    if spec.sec_type != "OPT":
        session.error(request.req_id, 200, NO_SECURITY_DEFINITION)
        return
    # orders do not trade options here, so there is never a position to exercise
    session.error(request.req_id, 321, f"Error validating request:-'bz' : cause - No position in {spec.local_symbol} "
                                       f"to exercise")


def _chain(session: Session, spec) -> options.Chain:
    return options.chain(spec, session.world.market.price(spec.con_id), session.world.clock.now().date())


def _handle_sec_def_opt_params(session: Session, request: ReqSecDefOptParams) -> None:
    spec = session.world.catalog.by_con_id(request.underlying_con_id)
    batch = []
    # IB answers an underlying without options (or a futures-options exchange it does not list) with the end alone
    if (spec is not None and options.has_options(spec) and not request.fut_fop_exchange
            and spec.symbol == request.underlying_symbol.upper()):
        chain = _chain(session, spec)
        batch = [messages_reference.option_parameter(request.req_id, exchange, spec.con_id, chain.trading_class,
                                                     options.OPTION_MULTIPLIER, chain.expirations, chain.strikes)
                 for exchange in OPTION_EXCHANGES]
    session.send(*batch, messages_reference.option_parameter_end(request.req_id))


def _handle_option_calculation(session: Session, request: ReqOptionCalculation) -> None:
    option = resolve_one(session, request.req_id, request.contract)
    if option is None:
        return
    if option.sec_type != "OPT":
        session.error(request.req_id, 200, NO_SECURITY_DEFINITION)
        return
    right, strike = option.right, option.strike
    under = request.under_price or session.world.market.price(option.under_con_id)
    years = options.years_to_expiry(option.last_trade_date, session.world.clock.now())
    if request.msg_id == 54:
        vol = options.implied_volatility(right, under, strike, years, request.value or 0.0)
        if vol is None:
            # outside the no-arbitrage bounds the model reports "not computed" (-1 volatility, -2 greeks, as
            # ibapi's decoder reads them) rather than refusing
            greeks, vol_out, price = None, -1.0, request.value or 0.0
        else:
            greeks, vol_out, price = options.black_scholes(right, under, strike, years, vol), vol, request.value
    else:
        vol_out = request.value or 0.0
        greeks = options.black_scholes(right, under, strike, years, vol_out)
        price = greeks.price
    session.send(messages_reference.option_computation(
        session.server_version, request.req_id, messages_reference.MODEL_OPTION_COMPUTATION,
        implied_vol=vol_out, delta=greeks.delta if greeks else -2.0, option_price=price, pv_dividend=0.0,
        gamma=greeks.gamma if greeks else -2.0, vega=greeks.vega if greeks else -2.0,
        theta=greeks.theta if greeks else -2.0, under_price=under))


# the requests these handlers always refuse, with the error code (see dispatch.REFUSED)
REFUSED = {
    ReqNewsArticle: NEWS_NOT_ALLOWED[0], ReqHistoricalNews: NEWS_NOT_ALLOWED[0], ReqWshData: NEWS_NOT_ALLOWED[0],
    ReqFundamentalData: FUNDAMENTALS_NOT_ALLOWED[0], FaRequest: 321, ExerciseOptions: 321,
}

HANDLERS = {
    QueryDisplayGroups: _handle_query_display_groups,
    SubscribeToGroupEvents: _handle_subscribe_to_group_events,
    ReqSmartComponents: _handle_smart_components,
    ReqFamilyCodes: _handle_family_codes,
    ReqNewsProviders: _handle_news_providers,
    ReqNewsArticle: _handle_news_article,
    ReqHistoricalNews: _handle_historical_news,
    ReqWshData: _handle_wsh,
    ReqUserInfo: _handle_user_info,
    ReqSoftDollarTiers: _handle_soft_dollar_tiers,
    ReqFundamentalData: _handle_fundamental_data,
    FaRequest: _handle_fa,
    ExerciseOptions: _handle_exercise,
    ReqSecDefOptParams: _handle_sec_def_opt_params,
    ReqOptionCalculation: _handle_option_calculation,
}
