"""Run logs (``live/logs.py``): JSON lines with the run's identity, a readable console,
and every secret redacted: in messages, in arguments, in tracebacks, a key with or
without its 0x, a webhook URL or its token alone."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from live.logs import REDACTED, configure_logging, run_secrets

KEY = "0x" + "ab12" * 16
HOOK = "https://discord.com/api/webhooks/1234/tokentokentokentoken"


def test_secrets_never_reach_a_log(tmp_path: Path, capsys) -> None:
    setup = configure_logging(tmp_path / "run.jsonl", run_id="r-1", mode="paper",
                              strategy="drill", secrets=[KEY, HOOK, "api-secret-xyz"])  # fmt: skip
    log = logging.getLogger("clobsim.test_logs")
    try:
        log.warning("signing with %s", KEY)
        log.warning("key without its prefix: %s; secret api-secret-xyz", KEY[2:])
        try:
            raise RuntimeError(f"posting to {HOOK} failed")
        except RuntimeError:
            log.exception("alert lost (token %s)", HOOK.rsplit("/", 1)[1])
    finally:
        setup.close()
    text = (tmp_path / "run.jsonl").read_text()
    console = capsys.readouterr().err
    for secret in (KEY, KEY[2:], HOOK, "tokentokentokentoken", "api-secret-xyz"):
        assert secret not in text and secret not in console
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["event"] for line in lines[:1]] == [f"signing with {REDACTED}"]
    assert all((line["run_id"], line["mode"], line["strategy"]) == ("r-1", "paper", "drill")
               for line in lines)  # fmt: skip
    assert "RuntimeError" in lines[-1]["exception"] and REDACTED in lines[-1]["exception"]
    assert not [h for h in logging.getLogger().handlers if getattr(h, "_clobsim_handler", 0)]


def test_the_secrets_come_from_the_environment() -> None:
    env = {"POLY_PRIVATE_KEY": KEY, "CLOBSIM_DISCORD_WEBHOOK": HOOK, "HOME": "/root"}
    assert sorted(run_secrets(env)) == sorted([KEY, HOOK])
