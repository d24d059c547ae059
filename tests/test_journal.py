"""The executor's journal: the same behaviour in memory and in SQLite (the payload contract).

SQLite's own guarantees (durable, one writer, fails closed) are in ``test_journal_sqlite``.
"""

from __future__ import annotations

import enum
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.journal import (
    Journal,
    JournalError,
    JournalRecord,
    MemoryJournal,
    SqliteJournal,
)
from sim.types import Side

IMPLS = ["memory", "memory_strict", "sqlite"]
#: implementations that validate records (the plain MemoryJournal trusts its caller)
VALIDATING = ["memory_strict", "sqlite"]


def open_journal(impl: str, folder: Path, name: str = "journal.db", **kw) -> Journal:
    if impl == "memory":
        return MemoryJournal()
    if impl == "memory_strict":
        return MemoryJournal(strict=True)
    return SqliteJournal(folder / name, **kw)


@pytest.fixture(params=IMPLS)
def impl(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def journal(impl: str, tmp_path: Path):
    j = open_journal(impl, tmp_path)
    yield j
    j.close()


def same(a: object, b: object) -> bool:
    """Equal, with equal types, and floats equal bit for bit (NaN == NaN, -0.0 != 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    return a == b


def same_records(got: list[JournalRecord], want: list[tuple[int, int, str, str, dict]]) -> bool:
    return len(got) == len(want) and all(
        (r.seq, r.ts_ns, r.kind, r.key) == w[:4] and same(r.payload, w[4])
        for r, w in zip(got, want, strict=True)
    )


# -- the same behaviour for every implementation ---------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
payloads = st.dictionaries(st.text(max_size=6), json_values, max_size=5)
kinds = st.sampled_from(["order", "fill", "breaker", "kill_switch"]) | st.text(max_size=4)
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), kinds, int64, st.text(max_size=8), payloads),
        st.tuples(
            st.just("save"),
            st.sampled_from(["breaker", "kill"]) | st.text(max_size=4),
            int64,
            payloads,
        ),
    ),
    max_size=25,
)


@pytest.mark.parametrize("impl", IMPLS)
@settings(max_examples=40, deadline=None)
@given(ops=ops, kind_filter=st.lists(kinds, max_size=3), since=st.integers(-2, 30))
def test_round_trip_matches_model(impl: str, ops, kind_filter, since) -> None:
    with tempfile.TemporaryDirectory() as folder:
        # NORMAL: the same code path as FULL without an fsync per record, to keep this test quick
        j = open_journal(impl, Path(folder), synchronous="NORMAL")
        records: list[tuple[int, int, str, str, dict]] = []
        states: dict[str, dict] = {}
        for op in ops:
            if op[0] == "append":
                _, kind, ts, key, payload = op
                seq = j.append(kind, ts, key, payload)
                records.append((seq, ts, kind, key, payload))
                assert seq == len(records) == j.last_seq
            else:
                _, name, ts, state = op
                j.save_state(name, state, ts)
                states[name] = state

        def check(j: Journal) -> None:
            assert j.last_seq == len(records)
            assert same_records(list(j.records()), records)
            want = [r for r in records if r[2] in kind_filter and r[0] > since]
            assert same_records(list(j.records(kind_filter, since_seq=since)), want)
            want = [r for r in records if r[0] > since]
            assert same_records(list(j.records(since_seq=since)), want)
            for name, state in states.items():
                assert same(j.load_state(name), state)
            assert j.load_state("never saved \u2603") is None

        check(j)
        j.close()
        if impl == "sqlite":
            with SqliteJournal(Path(folder) / "journal.db") as reopened:
                check(reopened)


def test_seq_starts_at_one_and_filters(journal: Journal) -> None:
    assert journal.last_seq == 0
    assert list(journal.records()) == []
    assert journal.append("order", 10, "cs1", {"status": "PENDING_NEW"}) == 1
    assert journal.append("fill", 11, "cs1", {"trade_id": "t1", "size": 2.5}) == 2
    assert journal.append("order", 12, "cs1", {"status": "FILLED"}) == 3
    assert journal.append("breaker", 13, "loss", {"tripped": True}) == 4
    assert [r.seq for r in journal.records(["order"])] == [1, 3]
    assert [r.seq for r in journal.records(["order", "breaker"], since_seq=1)] == [3, 4]
    assert [r.seq for r in journal.records(since_seq=3)] == [4]
    assert list(journal.records([])) == []
    assert list(journal.records(since_seq=4)) == []
    assert list(journal.records(["nope"])) == []
    (r,) = journal.records(["fill"])
    assert r == JournalRecord(2, 11, "fill", "cs1", {"trade_id": "t1", "size": 2.5})
    with pytest.raises(TypeError, match="not a str"):
        journal.records("order")  # type: ignore[arg-type]


def test_state_is_replaced_not_merged(journal: Journal) -> None:
    assert journal.load_state("breaker") is None
    journal.save_state("breaker", {"losses": 1, "tripped": False}, 1)
    journal.save_state("breaker", {"losses": 2}, 2)
    journal.save_state("kill_switch", {"on": True, "reason": "manual"}, 3)
    assert journal.load_state("breaker") == {"losses": 2}
    assert journal.load_state("kill_switch") == {"on": True, "reason": "manual"}
    assert list(journal.records()) == []  # states are not records


def test_floats_round_trip_exactly_including_nan_and_infinity(journal: Journal) -> None:
    payload = {
        "third": 1 / 3,
        "tiny": 5e-324,
        "big": 1.7976931348623157e308,
        "neg_zero": -0.0,
        "nan": float("nan"),
        "inf": float("inf"),
        "ninf": float("-inf"),
        "big_int": 2**80,
        "flag": True,
        "nested": [{"x": [0.1, None, "\x00\u2603"]}],
    }
    journal.append("fill", 1, "k", payload)
    journal.save_state("s", payload, 1)
    assert same(next(journal.records()).payload, payload)
    assert same(journal.load_state("s"), payload)


def test_records_upper_bound_is_fixed_when_called(journal: Journal) -> None:
    for i in range(3):
        journal.append("order", i, f"k{i}", {"i": i})
    seen = []
    for record in journal.records():
        seen.append(record.seq)
        journal.append("order", 100 + record.seq, "more", {"i": record.seq})
    assert seen == [1, 2, 3]
    assert [r.seq for r in journal.records(since_seq=3)] == [4, 5, 6]


def test_closed_journal_refuses_everything(journal: Journal) -> None:
    journal.append("order", 1, "k", {})
    journal.append("fill", 2, "k", {})
    it = journal.records()
    assert next(it).seq == 1
    journal.close()
    journal.close()  # idempotent
    assert journal.last_seq == 2  # a number, still readable
    calls = [
        lambda: journal.append("order", 1, "k", {}),
        lambda: journal.records(),
        lambda: journal.save_state("s", {}, 1),
        lambda: journal.load_state("s"),
        lambda: next(it),  # an iterator started before close
    ]
    for call in calls:
        with pytest.raises(JournalError) as err:
            call()
        assert err.value.reason == "closed"


def test_context_manager_closes(impl: str, tmp_path: Path) -> None:
    with open_journal(impl, tmp_path) as j:
        assert j.append("order", 1, "k", {"a": 1}) == 1
    with pytest.raises(JournalError, match="closed"):
        j.append("order", 2, "k", {})
    assert isinstance(j, Journal)


class _Color(enum.StrEnum):
    RED = "red"


@pytest.mark.parametrize("impl", VALIDATING)
@pytest.mark.parametrize(
    ("kind", "ts_ns", "key", "payload", "match"),
    [
        ("fill", 1, "k", {"levels": (1, 2)}, r"payload\.levels: tuple"),
        ("fill", 1, "k", {"ids": {1, 2}}, "set is not a JSON type"),
        ("fill", 1, "k", {1: "a"}, "key 1 is int"),
        ("fill", 1, "k", {"a": [{"b": object()}]}, r"payload\.a\[0\]\.b: object"),
        ("fill", 1, "k", [("a", 1)], "payload must be a dict"),
        ("fill", 1, "k", None, "payload must be a dict"),
        (1, 1, "k", {}, "kind must be str"),
        ("fill", 1, b"k", {}, "key must be str"),
        ("fill", 1.0, "k", {}, "ts_ns must be int"),
        ("fill", True, "k", {}, "ts_ns must be int"),
        ("fill", 2**63, "k", {}, "64 bits"),
        ("fill", 1, "\ud800", {}, "not valid UTF-8"),
    ],
)
def test_invalid_records_are_refused_and_use_no_seq(
    impl: str, tmp_path: Path, kind, ts_ns, key, payload, match
) -> None:
    with open_journal(impl, tmp_path) as j:
        with pytest.raises(JournalError, match=match) as err:
            j.append(kind, ts_ns, key, payload)
        assert err.value.reason == "invalid_record"
        with pytest.raises(JournalError, match="invalid_record"):
            j.save_state("s", {"bad": (1,)}, 1)
        assert j.append("fill", 1, "k", {}) == 1
        assert j.load_state("s") is None


@pytest.mark.parametrize("impl", VALIDATING)
def test_self_reference_is_refused(impl: str, tmp_path: Path) -> None:
    loop: dict = {}
    loop["self"] = loop
    with open_journal(impl, tmp_path) as j, pytest.raises(JournalError, match="nested deeper"):
        j.append("fill", 1, "k", loop)


@pytest.mark.parametrize("impl", VALIDATING)
def test_subclasses_of_json_scalars_come_back_as_plain_values(impl: str, tmp_path: Path) -> None:
    with open_journal(impl, tmp_path) as j:
        j.append("order", 1, "k", {"side": Side.BUY, "color": _Color.RED})
        payload = next(j.records()).payload
    assert same(payload, {"side": 1, "color": "red"})


def test_strict_memory_journal_copies_like_sqlite() -> None:
    j = MemoryJournal(strict=True)
    payload = {"a": [1]}
    j.append("fill", 1, "k", payload)
    payload["a"].append(2)  # breaks the contract; strict mode is unaffected, like SQLite
    first = next(j.records()).payload
    first["a"].append(3)
    assert next(j.records()).payload == {"a": [1]}
