"""Settings from the environment and the merged trading config."""
import pytest

from lib.config import Settings, SettingsError, TradingConfig, check_order_limits, load
from lib.store.writes import merged as merge_maps
from lib.errors import InvalidConfig, MissingConfigKey


def test_defaults_are_paper_on_the_paper_port():
    settings = load({})
    assert settings == Settings()
    assert (settings.trading_mode, settings.ib_port, settings.store_backend) == ("paper", 4002, "sqlite")


def test_live_mode_defaults_to_the_live_port():
    assert load({"TRADING_MODE": "LIVE"}).ib_port == 4001


def test_a_dead_runs_claims_outlive_its_budget_by_a_minute_unless_set():
    assert load({}).claim_margin_s == 60
    assert load({"CLAIM_MARGIN_S": "5"}).claim_margin_s == 5


@pytest.mark.parametrize("environ, named", [
    ({"TRADING_MODE": "demo"}, "TRADING_MODE"),
    ({"STORE_BACKEND": "postgres"}, "STORE_BACKEND"),
    ({"IB_PORT": "forty"}, "IB_PORT"),
    ({"IB_CONNECT_TIMEOUT_S": "-1"}, "IB_CONNECT_TIMEOUT_S"),
    ({"CLAIM_MARGIN_S": "0"}, "CLAIM_MARGIN_S"),
    ({"STORE_BACKEND": "firestore"}, "PROJECT_ID"),
])
def test_invalid_environment_is_refused_naming_the_variable(environ, named):
    with pytest.raises(SettingsError, match=named):
        load(environ)


def test_project_id_falls_back_to_google_cloud_project():
    settings = load({"STORE_BACKEND": "firestore", "GOOGLE_CLOUD_PROJECT": "p1"})
    assert settings.project_id == "p1"


def test_mode_document_wins_and_nested_maps_merge():
    merged = merge_maps({"exposure": {"overall": 1, "strategies": {"a": 1}}, "x": 1},
                        {"exposure": {"strategies": {"b": 2}, "extra": {}}, "x": 2}, empty_map_replaces=False)
    assert merged == {"exposure": {"overall": 1, "strategies": {"a": 1, "b": 2}, "extra": {}}, "x": 2}


def test_an_empty_map_in_the_mode_document_overrides_nothing():
    merged = merge_maps({"exposure": {"overall": 1}}, {"exposure": {}}, empty_map_replaces=False)
    assert merged == {"exposure": {"overall": 1}}


class _Docs:
    def __init__(self, docs):
        self.docs = docs

    def get(self, path):
        return self.docs.get(path)


def test_trading_config_reads_common_then_mode():
    store = _Docs({"config/common": {"retryCheckMinutes": 5, "exposure": {"overall": 0.5}},
                   "config/paper": {"exposure": {"overall": 0.8}}})
    config = TradingConfig.load(store, "paper")
    assert config.require("exposure.overall") == 0.8
    assert config.require("retryCheckMinutes") == 5
    assert config.get("exposure.strategies.dummy", 0) == 0


def test_missing_key_error_names_the_key():
    config = TradingConfig.load(_Docs({}), "paper")
    with pytest.raises(MissingConfigKey, match="exposure.overall"):
        config.require("exposure.overall")


@pytest.mark.parametrize("values, key", [
    ({"exposure": {"overall": 100}}, "exposure.overall"),
    ({"exposure": {"overall": 0}}, "exposure.overall"),
    ({"exposure": {"overall": 2.5}, "maxLeverage": 2}, "exposure.overall"),
    ({"maxLeverage": 0}, "maxLeverage"),
    ({"exposure": {"strategies": {"dummy": 1.2}}}, "exposure.strategies.dummy"),
    ({"exposure": {"strategies": ["dummy"]}}, "exposure.strategies"),
    ({"retryCheckMinutes": 0}, "retryCheckMinutes"),
    ({"retryCheckMinutes": 0.5}, "retryCheckMinutes"),
    ({"maxOrderNotional": 0}, "maxOrderNotional"),
    ({"maxOrderNotional": "lots"}, "maxOrderNotional"),
])
def test_config_out_of_bounds_is_refused_when_loaded_naming_the_key(values, key):
    with pytest.raises(InvalidConfig) as refused:
        TradingConfig.load(_Docs({"config/paper": values}), "paper")
    assert refused.value.key == key


def test_config_within_bounds_loads():
    values = {"exposure": {"overall": 1.8, "strategies": {"a": 0.5, "b": 0.5}}, "maxLeverage": 2,
              "retryCheckMinutes": 1, "maxOrderNotional": 1}
    assert TradingConfig.load(_Docs({"config/paper": values}), "paper").number("exposure.overall") == 1.8


def test_the_shares_of_all_strategies_add_up_to_at_most_one():
    """Each run checks its own strategies: shares of 0.5 and 0.9 run apart would use 1.4 x exposure.overall."""
    with pytest.raises(InvalidConfig, match=r"'exposure.strategies' must be shares adding up to at most 1 \(they "
                                            r"add up to 1.4\)"):
        TradingConfig.load(_Docs({"config/paper": {"exposure": {"strategies": {"dummy": 0.5, "spymacdvixy": 0.9}}}}),
                           "paper")
    config = TradingConfig.load(_Docs({"config/paper": {"exposure": {"strategies": {"a": 0.6, "c": 0.4}}}}), "paper")
    assert config.number("exposure.strategies.a") == 0.6


def test_live_orders_need_max_order_notional():
    check_order_limits(TradingConfig({}, "paper"))
    with pytest.raises(MissingConfigKey, match="maxOrderNotional"):
        check_order_limits(TradingConfig({}, "live"))
    check_order_limits(TradingConfig({"maxOrderNotional": 50_000}, "live"))
