"""Every alert kind the code can raise is explained in the README's alert table, with the
level it is raised at: an operator woken at night must find what it means."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEVELS = ("info", "warning", "critical")
#: callables that raise an alert from (level, kind, message): the executor's Alarm, the
#: alerting helpers of the probe and the ops watch, and Alert(ts, level, kind, ...) itself
CALLERS = {"_alarm", "alarm", "_alert", "Alert"}


def raised_alerts() -> set[tuple[str, str]]:
    """(level, kind) of every alert raised with literal strings in sim/, live/ and
    exchange_mock/."""
    found = set()
    for folder in ("sim", "live", "exchange_mock"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
                if name not in CALLERS:
                    continue
                lits = [a.value for a in node.args if isinstance(a, ast.Constant)]
                strs = [v for v in lits if isinstance(v, str)]
                for i, v in enumerate(strs[:-1]):
                    if v in LEVELS and re.fullmatch(r"[a-z_]+", strs[i + 1]):
                        found.add((v, strs[i + 1]))
                        break
    return found


def documented_alerts() -> dict[str, set[str]]:
    """kind -> levels, from the README table rows ``| `kind` | level(s) | ...``."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("### What each alert means") :]
    rows = {}
    for m in re.finditer(r"^\| `([a-z_]+)` \| ([a-z, ]+) \|", table, re.M):
        rows[m.group(1)] = {lvl.strip() for lvl in m.group(2).split(",")}
    return rows


def test_the_scanner_finds_the_alerts_it_must() -> None:
    found = raised_alerts()
    # a scanner that found nothing would pass the test below vacuously
    for known in [("critical", "kill_switch"), ("critical", "breaker"), ("warning", "feed"),
                  ("critical", "venue_down"), ("info", "daily_summary")]:  # fmt: skip
        assert known in found
    assert len({k for _, k in found}) >= 20


def test_every_raised_alert_is_in_the_readme_table_at_its_level() -> None:
    docs = documented_alerts()
    missing = sorted(f"{kind} ({level})" for level, kind in raised_alerts()
                     if level not in docs.get(kind, set()))  # fmt: skip
    assert not missing, f"alerts raised in code but not in the README table: {missing}"


def test_the_table_lists_no_alert_the_code_cannot_raise() -> None:
    raised = {k for _, k in raised_alerts()}
    stale = sorted(set(documented_alerts()) - raised)
    assert not stale, f"README alert rows no code raises: {stale}"
