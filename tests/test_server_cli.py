"""``clobsim serve-mock`` as a user runs it: a process on 127.0.0.1 that prints its URLs,
keeps secrets in a 0600 file, serves the official client, and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from py_clob_client_v2 import ClobClient, OrderArgs, OrderPayload

from tests.server_helpers import write_dataset


def _start(args: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim.cli", "serve-mock", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip


def _read_banner(proc: subprocess.Popen, deadline_s: float = 60.0) -> list[str]:
    lines, end = [], time.monotonic() + deadline_s
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Ctrl-C stops it."):
            return lines
    proc.kill()
    raise AssertionError(f"no banner: {lines} {proc.stderr.read()}")


def test_serve_mock_from_the_command_line(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "ds", minutes=2)
    secrets = tmp_path / "account.env"
    proc = _start(["--data", str(data), "--secrets-file", str(secrets), "--speed", "10"])
    try:
        banner = _read_banner(proc)
        rest = next(ln.split()[-1] for ln in banner if ln.strip().startswith("REST"))
        assert rest.startswith("http://127.0.0.1:")
        assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
        env = dict(ln.split("=", 1) for ln in secrets.read_text().splitlines())
        printed = "\n".join(banner)
        assert env["MOCK_PRIVATE_KEY"] not in printed and env["CLOB_SECRET"] not in printed
        c = ClobClient(env["CLOB_URL"], 137, key=env["MOCK_PRIVATE_KEY"])
        c.set_api_creds(c.create_or_derive_api_key())
        assert c.creds.api_key == env["CLOB_API_KEY"]
        r = c.create_and_post_order(OrderArgs(token_id=env["MOCK_TOKEN_ID"], price=0.01,
                                              size=10, side="BUY"))  # fmt: skip
        assert r["status"] == "live"
        assert c.cancel_order(OrderPayload(orderID=r["orderID"]))["canceled"] == [r["orderID"]]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "clobsim mock stopped." in out


@pytest.mark.parametrize(("args", "message"), [
    (["--speed", "0"], "speed"),
    (["--port", "70000"], "port"),
    (["--faults", "nope.toml"], "cannot read nope.toml"),
])  # fmt: skip
def test_bad_options_are_usage_errors_without_a_traceback(tmp_path: Path, args, message) -> None:
    data = write_dataset(tmp_path / "ds", minutes=1)
    proc = _start(["--data", str(data), "--secrets-file", str(tmp_path / "s.env"), *args],
                  env={**os.environ, "CLOBSIM_MOCK_PRIVATE_KEY": ""})  # fmt: skip
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "s.env").exists()


def test_a_missing_dataset_is_a_usage_error(tmp_path: Path) -> None:
    proc = _start(["--data", str(tmp_path / "none")])
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "Traceback" not in err
