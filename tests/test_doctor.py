"""``clobsim doctor CONFIG`` against the loopback server: every check passes on a
healthy setup, a dead venue or a missing key FAILs with the reason, and the key itself
is never printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from live.doctor import run_doctor
from tests.server_helpers import KEY, running_server, write_dataset
from tests.test_notify import Hook


def config(tmp: Path, rest: str, rpc: str) -> Path:
    cfg = tmp / "live.toml"
    cfg.write_text(f"""mode = "live"
[data]
path = "x"
markets = ["test-market-0"]
[venue]
kind = "polymarket"
host = "{rest}"
ws_url = "ws://127.0.0.1:1/ws/"
rpc_url = "{rpc}"
journal_path = "{tmp / "state" / "journal.sqlite"}"
""")
    return cfg


def test_doctor_passes_a_healthy_setup_and_names_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = write_dataset(tmp_path / "ds", minutes=1)
    hook = Hook()
    try:
        with running_server(data) as run:
            cfg = config(tmp_path, run.urls.rest, run.urls.rpc)
            env = {"POLY_PRIVATE_KEY": KEY, "CLOBSIM_DISCORD_WEBHOOK": hook.url}
            assert run_doctor(cfg, env=env) == 0
            out = capsys.readouterr().out
            for what in ("credentials", "venue", "chain", "journal", "disk", "alerts"):
                assert what in out
            assert "FAIL" not in out and KEY not in out and KEY[2:] not in out
            assert run_doctor(cfg, env={}) == 1  # no key
            assert "FAIL  credentials" in capsys.readouterr().out
        dead = config(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9")
        assert run_doctor(dead, env={"POLY_PRIVATE_KEY": KEY}) == 1
        out = capsys.readouterr().out
        assert "FAIL  venue" in out and "FAIL  chain" in out
        assert run_doctor(dead, env={"POLY_PRIVATE_KEY": KEY}, as_json=True) == 1
        doc = json.loads(capsys.readouterr().out)
        assert doc["ok"] is False
        status = {c["check"]: c["status"] for c in doc["checks"]}
        assert status["venue"] == "FAIL" and status["journal"] == "PASS"
        assert KEY[2:] not in json.dumps(doc)
    finally:
        hook.server.shutdown()
