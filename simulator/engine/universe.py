"""The broader catalog: the S&P 100 stocks, large ETFs, the SPX/NDX/RUT indices and CME Group futures with their
micros, each with its listing and its price model parameters.

conIds are IB's where they are public (found in IB's own samples or in code and reports that quote contract
details from TWS); 0 means IB's conId is not public, and the catalog gives the contract an id of its own, a pure
function of the symbol (catalog.own_con_id). Levels are plausible prices at the price model's anchor date
(price_paths.ANCHOR), volatilities annual, volumes per regular session.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Listing:
    """A stock or ETF.

    Parameters:
        symbol: IB's symbol ("BRK B" with a space, as IB writes class shares).
        con_id: IB's conId, 0 when it is not public.
        primary_exchange: listing exchange as IB names it (NYSE, NASDAQ, ARCA, BATS).
        long_name: IB's description style (upper case).
        stock_type: "COMMON" or "ETF".
        level, vol, daily_volume_m: price model: level at the anchor date, annual volatility, millions of
            shares a regular session.
    """

    symbol: str
    con_id: int
    primary_exchange: str
    long_name: str
    stock_type: str
    level: float
    vol: float
    daily_volume_m: float


def _stocks(rows: str, stock_type: str) -> tuple[Listing, ...]:
    listings = []
    for line in rows.strip().splitlines():
        symbol, con_id, primary, name, level, vol, volume = (part.strip() for part in line.split("|"))
        listings.append(Listing(symbol, int(con_id), primary, name, stock_type, float(level), float(vol),
                                float(volume)))
    return tuple(listings)


# S&P 100 members (besides AAPL, MSFT, AMZN and NVDA, listed with the original catalog):
# symbol | conId (0: not public) | primary exchange | name | level | vol | daily volume (millions)
S_AND_P_100 = _stocks("""
ABBV | 0 | NYSE | ABBVIE INC | 190 | 0.25 | 6
ABT | 0 | NYSE | ABBOTT LABORATORIES | 130 | 0.20 | 6
ACN | 0 | NYSE | ACCENTURE PLC-CL A | 300 | 0.25 | 3
ADBE | 0 | NASDAQ | ADOBE INC | 400 | 0.32 | 3
AIG | 0 | NYSE | AMERICAN INTERNATIONAL GROUP | 80 | 0.25 | 4
AMD | 4391 | NASDAQ | ADVANCED MICRO DEVICES | 150 | 0.50 | 50
AMGN | 0 | NASDAQ | AMGEN INC | 290 | 0.23 | 3
AMT | 0 | NYSE | AMERICAN TOWER CORP | 210 | 0.25 | 2
AVGO | 0 | NASDAQ | BROADCOM INC | 260 | 0.45 | 25
AXP | 0 | NYSE | AMERICAN EXPRESS CO | 300 | 0.27 | 3
BA | 0 | NYSE | BOEING CO/THE | 200 | 0.35 | 8
BAC | 0 | NYSE | BANK OF AMERICA CORP | 45 | 0.27 | 40
BK | 0 | NYSE | BANK OF NEW YORK MELLON CORP | 90 | 0.22 | 4
BKNG | 0 | NASDAQ | BOOKING HOLDINGS INC | 5500 | 0.28 | 0.3
BLK | 0 | NYSE | BLACKROCK INC | 1000 | 0.25 | 0.7
BMY | 0 | NYSE | BRISTOL-MYERS SQUIBB CO | 48 | 0.25 | 12
BRK B | 72063691 | NYSE | BERKSHIRE HATHAWAY INC-CL B | 480 | 0.17 | 4
C | 0 | NYSE | CITIGROUP INC | 80 | 0.30 | 15
CAT | 0 | NYSE | CATERPILLAR INC | 380 | 0.28 | 3
CHTR | 0 | NASDAQ | CHARTER COMMUNICATIONS INC-A | 400 | 0.35 | 1.2
CL | 0 | NYSE | COLGATE-PALMOLIVE CO | 90 | 0.18 | 4
CMCSA | 0 | NASDAQ | COMCAST CORP-CLASS A | 36 | 0.25 | 20
COF | 0 | NYSE | CAPITAL ONE FINANCIAL CORP | 200 | 0.30 | 3
COP | 0 | NYSE | CONOCOPHILLIPS | 95 | 0.28 | 7
COST | 0 | NASDAQ | COSTCO WHOLESALE CORP | 950 | 0.20 | 2
CRM | 0 | NYSE | SALESFORCE INC | 260 | 0.32 | 6
CSCO | 0 | NASDAQ | CISCO SYSTEMS INC | 65 | 0.22 | 18
CVS | 0 | NYSE | CVS HEALTH CORP | 65 | 0.30 | 8
CVX | 0 | NYSE | CHEVRON CORP | 150 | 0.25 | 8
DE | 0 | NYSE | DEERE & CO | 500 | 0.25 | 1.5
DHR | 0 | NYSE | DANAHER CORP | 200 | 0.25 | 3
DIS | 6459 | NYSE | WALT DISNEY CO/THE | 115 | 0.27 | 8
DUK | 0 | NYSE | DUKE ENERGY CORP | 118 | 0.17 | 3
EMR | 0 | NYSE | EMERSON ELECTRIC CO | 130 | 0.27 | 3
F | 9599491 | NYSE | FORD MOTOR CO | 11 | 0.35 | 60
FDX | 0 | NYSE | FEDEX CORP | 230 | 0.30 | 2
GD | 0 | NYSE | GENERAL DYNAMICS CORP | 290 | 0.20 | 1.2
GE | 0 | NYSE | GE AEROSPACE | 250 | 0.30 | 5
GILD | 0 | NASDAQ | GILEAD SCIENCES INC | 110 | 0.25 | 7
GM | 0 | NYSE | GENERAL MOTORS CO | 50 | 0.33 | 10
GOOG | 208813720 | NASDAQ | ALPHABET INC-CL C | 180 | 0.30 | 20
GOOGL | 208813719 | NASDAQ | ALPHABET INC-CL A | 180 | 0.30 | 30
GS | 0 | NYSE | GOLDMAN SACHS GROUP INC | 650 | 0.28 | 2
HD | 0 | NYSE | HOME DEPOT INC | 370 | 0.22 | 3
HON | 0 | NASDAQ | HONEYWELL INTERNATIONAL INC | 230 | 0.22 | 3
IBM | 8314 | NYSE | INTL BUSINESS MACHINES CORP | 280 | 0.25 | 4
INTC | 0 | NASDAQ | INTEL CORP | 22 | 0.45 | 60
INTU | 0 | NASDAQ | INTUIT INC | 750 | 0.30 | 1.5
ISRG | 0 | NASDAQ | INTUITIVE SURGICAL INC | 530 | 0.30 | 1.5
JNJ | 0 | NYSE | JOHNSON & JOHNSON | 160 | 0.17 | 7
JPM | 1520593 | NYSE | JPMORGAN CHASE & CO | 280 | 0.23 | 9
KO | 0 | NYSE | COCA-COLA CO/THE | 70 | 0.15 | 13
LIN | 0 | NASDAQ | LINDE PLC | 460 | 0.18 | 2
LLY | 0 | NYSE | ELI LILLY & CO | 800 | 0.33 | 3
LMT | 0 | NYSE | LOCKHEED MARTIN CORP | 470 | 0.22 | 1.3
LOW | 0 | NYSE | LOWE'S COS INC | 230 | 0.25 | 2.5
MA | 0 | NYSE | MASTERCARD INC - A | 560 | 0.22 | 3
MCD | 0 | NYSE | MCDONALD'S CORP | 300 | 0.17 | 3
MDLZ | 0 | NASDAQ | MONDELEZ INTERNATIONAL INC-A | 66 | 0.18 | 7
MDT | 0 | NYSE | MEDTRONIC PLC | 90 | 0.20 | 6
MET | 0 | NYSE | METLIFE INC | 80 | 0.25 | 3
META | 107113386 | NASDAQ | META PLATFORMS INC-CLASS A | 700 | 0.35 | 12
MMM | 0 | NYSE | 3M CO | 150 | 0.27 | 3
MO | 0 | NYSE | ALTRIA GROUP INC | 58 | 0.18 | 8
MRK | 0 | NYSE | MERCK & CO. INC. | 80 | 0.25 | 12
MS | 0 | NYSE | MORGAN STANLEY | 140 | 0.28 | 6
NEE | 0 | NYSE | NEXTERA ENERGY INC | 72 | 0.25 | 9
NFLX | 15124833 | NASDAQ | NETFLIX INC | 1200 | 0.35 | 4
NKE | 0 | NYSE | NIKE INC -CL B | 70 | 0.33 | 12
NOW | 0 | NYSE | SERVICENOW INC | 1000 | 0.35 | 1.3
ORCL | 0 | NYSE | ORACLE CORP | 220 | 0.38 | 10
PEP | 0 | NASDAQ | PEPSICO INC | 140 | 0.18 | 6
PFE | 0 | NYSE | PFIZER INC | 25 | 0.25 | 35
PG | 0 | NYSE | PROCTER & GAMBLE CO/THE | 160 | 0.16 | 7
PLTR | 0 | NASDAQ | PALANTIR TECHNOLOGIES INC-A | 140 | 0.60 | 60
PM | 0 | NYSE | PHILIP MORRIS INTERNATIONAL | 170 | 0.25 | 5
PYPL | 0 | NASDAQ | PAYPAL HOLDINGS INC | 70 | 0.35 | 14
QCOM | 0 | NASDAQ | QUALCOMM INC | 160 | 0.35 | 8
RTX | 415342104 | NYSE | RTX CORP | 145 | 0.22 | 5
SBUX | 0 | NASDAQ | STARBUCKS CORP | 90 | 0.30 | 9
SCHW | 0 | NYSE | SCHWAB (CHARLES) CORP | 90 | 0.28 | 8
SO | 0 | NYSE | SOUTHERN CO/THE | 90 | 0.17 | 4
SPG | 0 | NYSE | SIMON PROPERTY GROUP INC | 165 | 0.25 | 1.5
T | 0 | NYSE | AT&T INC | 28 | 0.20 | 35
TGT | 0 | NYSE | TARGET CORP | 100 | 0.32 | 5
TMO | 0 | NYSE | THERMO FISHER SCIENTIFIC INC | 420 | 0.27 | 2
TMUS | 0 | NASDAQ | T-MOBILE US INC | 230 | 0.22 | 4
TSLA | 76792991 | NASDAQ | TESLA INC | 320 | 0.60 | 100
TXN | 0 | NASDAQ | TEXAS INSTRUMENTS INC | 200 | 0.30 | 6
UBER | 0 | NYSE | UBER TECHNOLOGIES INC | 90 | 0.40 | 18
UNH | 0 | NYSE | UNITEDHEALTH GROUP INC | 300 | 0.35 | 10
UNP | 0 | NYSE | UNION PACIFIC CORP | 230 | 0.22 | 3
UPS | 0 | NYSE | UNITED PARCEL SERVICE-CL B | 100 | 0.28 | 6
USB | 0 | NYSE | US BANCORP | 45 | 0.27 | 8
V | 0 | NYSE | VISA INC-CLASS A SHARES | 350 | 0.20 | 6
VZ | 0 | NYSE | VERIZON COMMUNICATIONS INC | 43 | 0.18 | 18
WFC | 0 | NYSE | WELLS FARGO & CO | 78 | 0.28 | 16
WMT | 0 | NASDAQ | WALMART INC | 97 | 0.20 | 17
XOM | 0 | NYSE | EXXON MOBIL CORP | 110 | 0.25 | 15
""", "COMMON")

# Large ETFs (besides SPY, QQQ, IWM, TLT, IEF, GLD, EFA, VTI and VIXY, listed with the original catalog)
LARGE_ETFS = _stocks("""
DIA | 73128548 | ARCA | SPDR DOW JONES INDUSTRIAL AVE | 440 | 0.16 | 4
IVV | 8991352 | ARCA | ISHARES CORE S&P 500 ETF | 620 | 0.18 | 5
VOO | 136155102 | ARCA | VANGUARD S&P 500 ETF | 570 | 0.18 | 6
VEA | 45444192 | ARCA | VANGUARD FTSE DEVELOPED ETF | 55 | 0.16 | 12
VWO | 0 | ARCA | VANGUARD FTSE EMERGING MARKETS | 48 | 0.18 | 9
EEM | 0 | ARCA | ISHARES MSCI EMERGING MARKET | 46 | 0.20 | 25
IEFA | 0 | BATS | ISHARES CORE MSCI EAFE ETF | 82 | 0.16 | 10
IEMG | 0 | ARCA | ISHARES CORE MSCI EMERGING | 60 | 0.18 | 10
AGG | 0 | ARCA | ISHARES CORE U.S. AGGREGATE | 99 | 0.05 | 8
BND | 0 | NASDAQ | VANGUARD TOTAL BOND MARKET | 73 | 0.05 | 6
LQD | 0 | ARCA | ISHARES IBOXX INVESTMENT GRA | 108 | 0.08 | 25
HYG | 0 | ARCA | ISHARES IBOXX HIGH YLD CORP | 80 | 0.07 | 35
SHY | 0 | NASDAQ | ISHARES 1-3 YEAR TREASURY BO | 82 | 0.02 | 4
BIL | 0 | ARCA | SPDR BLOOMBERG 1-3 MONTH T-B | 91.5 | 0.005 | 8
SLV | 0 | ARCA | ISHARES SILVER TRUST | 32 | 0.28 | 20
USO | 0 | ARCA | UNITED STATES OIL FUND LP | 75 | 0.35 | 5
GDX | 0 | ARCA | VANECK GOLD MINERS ETF | 50 | 0.40 | 20
XLF | 0 | ARCA | FINANCIAL SELECT SECTOR SPDR | 52 | 0.20 | 40
XLK | 0 | ARCA | TECHNOLOGY SELECT SECT SPDR | 250 | 0.25 | 6
XLE | 0 | ARCA | ENERGY SELECT SECTOR SPDR | 88 | 0.25 | 15
XLV | 0 | ARCA | HEALTH CARE SELECT SECTOR | 135 | 0.16 | 8
XLI | 0 | ARCA | INDUSTRIAL SELECT SECT SPDR | 145 | 0.18 | 8
XLY | 0 | ARCA | CONSUMER DISCRETIONARY SELT | 220 | 0.23 | 4
XLP | 0 | ARCA | CONSUMER STAPLES SPDR | 80 | 0.13 | 9
XLU | 0 | ARCA | UTILITIES SELECT SECTOR SPDR | 80 | 0.17 | 11
XLB | 0 | ARCA | MATERIALS SELECT SECTOR SPDR | 88 | 0.20 | 5
XLC | 0 | ARCA | COMMUNICATION SERVICES SELEC | 105 | 0.22 | 5
XLRE | 0 | ARCA | REAL ESTATE SELECT SECT SPDR | 41 | 0.20 | 6
KRE | 0 | ARCA | SPDR S&P REGIONAL BANKING | 60 | 0.33 | 15
SMH | 0 | NASDAQ | VANECK SEMICONDUCTOR ETF | 280 | 0.40 | 7
VNQ | 31230302 | ARCA | VANGUARD REAL ESTATE ETF | 90 | 0.20 | 4
VGT | 27638079 | ARCA | VANGUARD INFORMATION TECH ET | 650 | 0.25 | 0.5
VIG | 38746069 | ARCA | VANGUARD DIVIDEND APPREC ETF | 205 | 0.15 | 0.9
SCHD | 0 | ARCA | SCHWAB US DIVIDEND EQUITY ET | 27 | 0.14 | 15
RSP | 0 | ARCA | INVESCO S&P 500 EQUAL WEIGHT | 185 | 0.18 | 8
ARKK | 0 | ARCA | ARK INNOVATION ETF | 70 | 0.50 | 8
TQQQ | 72539702 | NASDAQ | PROSHARES ULTRAPRO QQQ | 80 | 0.66 | 60
SQQQ | 0 | NASDAQ | PROSHARES ULTRAPRO SHORT QQQ | 20 | 0.66 | 90
UVXY | 0 | BATS | PROSHARES ULTRA VIX SHORT-TE | 20 | 0.90 | 30
""", "ETF")


@dataclass(frozen=True)
class IndexListing:
    """An index: IB's conId (0: not public), its exchange, its name and the price path it follows (an ETF that
    tracks it, so index, futures and ETF move together) with its level."""

    symbol: str
    con_id: int
    exchange: str
    long_name: str
    path: str
    level: float
    vol: float


# SPX 416904: IB's own sample code (ContractDefs::SPXConID); NDX and RUT conIds are not public.
INDICES = (
    IndexListing("SPX", 416904, "CBOE", "S&P 500 Stock Index", "SPY", 6000.0, 0.18),
    IndexListing("NDX", 0, "NASDAQ", "NASDAQ 100 Stock Index", "QQQ", 21000.0, 0.22),
    IndexListing("RUT", 0, "RUSSELL", "Russell 2000 Index", "IWM", 2200.0, 0.24),
)


@dataclass(frozen=True)
class FutureListing:
    """A futures product.

    Parameters:
        trading_class: the exchange code ("ES", "6E"), also the root of local symbols ("6EZ6").
        symbol: IB's symbol (6E is "EUR" at IB, its micro "M6E").
        exchange: IB's exchange (CME, CBOT, NYMEX, COMEX).
        multiplier, min_tick: contract size and price increment (CME Group contract specs).
        long_name: description.
        cycle: futures_expiry.CYCLES key.
        index: the index it is priced from ("" = its own path, see price_model.FUTURE_PATHS).
        daily_volume: contracts a day.
    """

    trading_class: str
    symbol: str
    exchange: str
    multiplier: float
    min_tick: float
    long_name: str
    cycle: str
    index: str
    daily_volume: float


# IB lists futures conIds per expiry and they are not public: every futures conId is the simulator's own
FUTURES = (
    FutureListing("MNQ", "MNQ", "CME", 2.0, 0.25, "Micro E-Mini Nasdaq-100 Index", "equity-index", "NQ", 600_000),
    FutureListing("ES", "ES", "CME", 50.0, 0.25, "E-mini S&P 500", "equity-index", "ES", 1_500_000),
    FutureListing("NQ", "NQ", "CME", 20.0, 0.25, "E-mini Nasdaq-100 Index", "equity-index", "NQ", 500_000),
    FutureListing("MES", "MES", "CME", 5.0, 0.25, "Micro E-Mini S&P 500 Stock Price Index", "equity-index", "ES",
                  1_200_000),
    FutureListing("RTY", "RTY", "CME", 50.0, 0.1, "E-mini Russell 2000 Index", "equity-index", "RUT", 150_000),
    FutureListing("M2K", "M2K", "CME", 5.0, 0.1, "Micro E-mini Russell 2000 Index", "equity-index", "RUT",
                  150_000),
    FutureListing("YM", "YM", "CBOT", 5.0, 1.0, "E-mini Dow Jones Industrial Average", "equity-index", "",
                  150_000),
    FutureListing("MYM", "MYM", "CBOT", 0.5, 1.0, "Micro E-mini Dow Jones Industrial Average", "equity-index", "",
                  150_000),
    FutureListing("CL", "CL", "NYMEX", 1000.0, 0.01, "Light Sweet Crude Oil", "crude", "", 300_000),
    FutureListing("MCL", "MCL", "NYMEX", 100.0, 0.01, "Micro WTI Crude Oil", "crude-micro", "", 100_000),
    FutureListing("GC", "GC", "COMEX", 100.0, 0.1, "Gold", "metal", "", 250_000),
    FutureListing("MGC", "MGC", "COMEX", 10.0, 0.1, "Micro Gold", "metal", "", 80_000),
    FutureListing("ZN", "ZN", "CBOT", 1000.0, 0.015625, "10-Year T-Note", "treasury", "", 1_500_000),
    FutureListing("6E", "EUR", "CME", 125_000.0, 0.00005, "European Monetary Union Euro", "fx", "", 200_000),
    FutureListing("M6E", "M6E", "CME", 12_500.0, 0.0001, "E-Micro EUR/USD", "fx", "", 20_000),
)
