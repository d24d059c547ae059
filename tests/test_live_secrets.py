"""Live secrets come from the environment or a .env file, are checked, and never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from live.secrets import load_secrets
from sim.backtest_config import BacktestConfig, DataConfig, VenueConfig
from sim.errors import ConfigError
from tests.server_helpers import KEY

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # KEY's


def test_the_environment_wins_over_the_file_and_nothing_secret_shows(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"POLY_PRIVATE_KEY=0x{'11' * 32}\nPOLY_API_KEY=k\n"
                        "POLY_API_SECRET=s3cr3t\nPOLY_API_PASSPHRASE=pp\n")  # fmt: skip
    s = load_secrets({"POLY_PRIVATE_KEY": KEY}, env_file)
    assert s.address == ADDRESS and s.api_creds == ("k", "s3cr3t", "pp")
    shown = repr(s) + str(s)
    assert KEY not in shown and KEY[2:] not in shown and "s3cr3t" not in shown
    assert ADDRESS in shown


def test_missing_or_bad_secrets_are_config_errors_that_never_echo_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"POLY_PRIVATE_KEY.*is not set"):
        load_secrets({}, None)
    with pytest.raises(ConfigError, match="not a valid hex private key") as err:
        load_secrets({"POLY_PRIVATE_KEY": "0xnot-a-key-but-secret"}, None)
    assert "not-a-key-but-secret" not in str(err.value)
    with pytest.raises(ConfigError, match="POLY_API_PASSPHRASE"):
        load_secrets({"POLY_PRIVATE_KEY": KEY, "POLY_API_KEY": "k", "POLY_API_SECRET": "s"}, None)
    assert load_secrets({"POLY_PRIVATE_KEY": KEY}, tmp_path / "absent.env").api_creds is None


def test_the_venue_table_is_tagged_by_kind() -> None:
    live = VenueConfig(kind="polymarket", host="http://127.0.0.1:8080", signature_type=2,
                       funder="0x" + "ab" * 20)  # fmt: skip
    assert live.chain_id == 137 and live.signature_type == 2
    # the simulated venue's keys on the live venue: paper's fill model, a mistake live
    paper = BacktestConfig(data=DataConfig(path="x"), mode="paper",
                           venue=VenueConfig(kind="polymarket", queue_model="clamped"))  # fmt: skip
    assert paper.venue.queue_model == "clamped"
    with pytest.raises(ConfigError, match="simulated fills' model"):
        BacktestConfig(data=DataConfig(path="x"), mode="live",
                       venue=VenueConfig(kind="polymarket", queue_model="clamped"))  # fmt: skip
    with pytest.raises(ConfigError, match="not a key of \\[venue\\] kind = 'sim'"):
        VenueConfig(host="http://127.0.0.1:1")
    with pytest.raises(ConfigError, match="needs the funder"):
        VenueConfig(kind="polymarket", signature_type=1)
    with pytest.raises(ConfigError, match="must start with"):
        VenueConfig(kind="polymarket", host="clob.polymarket.com")
