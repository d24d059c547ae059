"""The SQLite journal: durable, reopenable, one writer, survives SIGKILL, fails closed."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sim.errors import ConfigError
from sim.journal import JournalError, SqliteJournal
from tests.journal_writer_proc import payload_for
from tests.test_journal import same

ROOT = Path(__file__).resolve().parent.parent
WRITER = ROOT / "tests" / "journal_writer_proc.py"


# -- SQLite: durable, reopenable ---------------------------------------------------------------


def test_reopen_gives_same_records_and_seq_continues(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "journal.db"  # parent folders are created
    with SqliteJournal(path) as j:
        for i in range(5):
            j.append("order" if i % 2 else "fill", 100 + i, f"k{i}", {"i": i, "x": i / 3})
        j.save_state("breaker", {"losses": 3}, 104)
        before = list(j.records())
    with SqliteJournal(path) as j:
        assert list(j.records()) == before
        assert j.last_seq == 5
        assert j.load_state("breaker") == {"losses": 3}
        assert j.append("fill", 200, "k5", {"i": 5}) == 6
    with SqliteJournal(path) as j:
        assert [r.seq for r in j.records()] == [1, 2, 3, 4, 5, 6]


def test_sqlite_uses_wal_and_the_requested_sync(tmp_path: Path) -> None:
    with SqliteJournal(tmp_path / "full.db") as j:
        assert j._conn.execute("PRAGMA journal_mode").fetchall() == [("wal",)]
        assert j._conn.execute("PRAGMA synchronous").fetchall() == [(2,)]  # FULL
    with SqliteJournal(tmp_path / "normal.db", synchronous="normal") as j:
        assert j.synchronous == "NORMAL"
        assert j._conn.execute("PRAGMA synchronous").fetchall() == [(1,)]
    for bad in ("OFF", "fast", 0):
        with pytest.raises(ConfigError, match=r"journal\.synchronous"):
            SqliteJournal(tmp_path / "bad.db", synchronous=bad)  # type: ignore[arg-type]
    assert not (tmp_path / "bad.db").exists()


def test_records_cross_batches_with_a_kind_filter(tmp_path: Path) -> None:
    with SqliteJournal(tmp_path / "j.db", synchronous="NORMAL") as j:
        for i in range(2500):
            j.append("fill" if i % 3 == 0 else "order", i, f"k{i}", {"i": i})
        fills = [r.payload["i"] for r in j.records(["fill"], since_seq=10)]
        assert fills == [i for i in range(10, 2500) if i % 3 == 0]
        assert [r.seq for r in j.records()] == list(range(1, 2501))


def test_threads_share_one_sqlite_journal(tmp_path: Path) -> None:
    with SqliteJournal(tmp_path / "j.db", synchronous="NORMAL") as j:
        seqs: list[int] = []

        def work(t: int) -> None:
            for i in range(50):
                seqs.append(j.append("fill", i, f"t{t}-{i}", {"t": t, "i": i}))

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(seqs) == list(range(1, 201))
        assert sorted(r.key for r in j.records()) == sorted(
            f"t{t}-{i}" for t in range(4) for i in range(50)
        )


def test_second_writer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        j.append("fill", 1, "k", {})
        with pytest.raises(JournalError) as err:
            SqliteJournal(path, busy_timeout_s=0.05)
        assert err.value.reason == "locked"
        assert j.append("fill", 2, "k", {}) == 2  # the first writer is unaffected
    with SqliteJournal(path) as j:
        assert j.last_seq == 2


def test_a_failed_write_poisons_the_journal(tmp_path: Path) -> None:
    class FailingConnection:
        """Stands in for a connection whose disk has failed."""

        def __init__(self, real: sqlite3.Connection) -> None:
            self.real = real
            self.in_transaction = False

        def execute(self, *args):
            raise sqlite3.OperationalError("disk I/O error")

        def close(self) -> None:
            self.real.close()

    path = tmp_path / "j.db"
    j = SqliteJournal(path)
    j.append("fill", 1, "k", {"i": 1})
    j._conn = FailingConnection(j._conn)  # type: ignore[assignment]
    with pytest.raises(JournalError, match="disk I/O error") as err:
        j.append("fill", 2, "k", {"i": 2})
    assert err.value.reason == "not_writable"
    j._conn = j._conn.real  # type: ignore[attr-defined]  # even if the disk recovers ...
    for call in (lambda: j.append("fill", 3, "k", {}), lambda: j.save_state("s", {}, 3)):
        with pytest.raises(JournalError) as err:  # ... the journal refuses until reopened
            call()
        assert err.value.reason == "failed"
    j.close()
    with SqliteJournal(path) as j:
        assert [r.payload for r in j.records()] == [{"i": 1}]
        assert j.append("fill", 4, "k", {}) == 2


# -- SIGKILL: nothing acknowledged is lost, nothing is doubled --------------------------------


def _run_writer_and_kill(db: Path, log: Path, acks_wanted: int) -> dict[int, int]:
    """Start the writer, read ``acks_wanted`` acknowledgements, SIGKILL it; return i -> seq."""
    lines: queue.Queue[str | None] = queue.Queue()
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(db), "1000000"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=ROOT,
        )
    assert proc.stdout is not None

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    acked: dict[int, int] = {}
    try:
        while len(acked) < acks_wanted:
            line = lines.get(timeout=60)
            assert line is not None, f"writer exited early: {log.read_text()}"
            seq, i = map(int, line.split())
            acked[i] = seq
        os.kill(proc.pid, signal.SIGKILL)  # mid-run: the writer does not wait for us
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
    reader.join(timeout=60)
    while (line := lines.get(timeout=60)) is not None:  # acknowledged before the kill landed
        seq, i = map(int, line.split())
        acked[i] = seq
    proc.stdout.close()
    return acked


def test_sigkill_loses_nothing_acknowledged_and_doubles_nothing(tmp_path: Path) -> None:
    db = tmp_path / "run" / "journal.db"
    acked: dict[int, int] = {}
    for run in range(3):  # kill, restart where the journal left off, kill again, ...
        new = _run_writer_and_kill(db, tmp_path / f"writer{run}.log", acks_wanted=20)
        assert not set(new) & set(acked), "a restarted run re-acknowledged a record"
        acked.update(new)
        with SqliteJournal(db) as j:  # opening runs quick_check: no torn pages
            records = list(j.records())
            last = j.last_seq
            progress = j.load_state("progress")
        assert [r.seq for r in records] == list(range(1, last + 1))  # contiguous, no doubles
        for r in records:  # every record complete and exact, acknowledged or not
            i = r.seq - 1
            assert (r.kind, r.ts_ns, r.key) == ("fill", 1_000 + i, f"k{i}")
            assert same(r.payload, payload_for(i))
        for i, seq in acked.items():  # every acknowledged record is there
            assert seq == i + 1 <= last
        assert progress is not None
        assert max(acked) <= progress["i"] <= last - 1  # state saved after its record
        assert progress["i"] >= last - 2
    with SqliteJournal(db) as j:
        assert j.append("fill", 0, "after", {"done": True}) == last + 1


# -- fails closed --------------------------------------------------------------------------------


def _writes_are_blocked(folder: Path) -> bool:
    """False when chmod does not stop us (running as root)."""
    probe = folder / "probe"
    try:
        probe.touch()
    except PermissionError:
        return True
    probe.unlink()
    return False


def test_unwritable_location_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    for target in (a_file / "journal.db", a_file / "sub" / "journal.db", tmp_path):
        with pytest.raises(JournalError) as err:
            SqliteJournal(target)
        assert err.value.reason == "not_writable"
        assert str(target.absolute()) in str(err.value)

    read_only = tmp_path / "read_only"
    read_only.mkdir()
    read_only.chmod(0o500)
    try:
        # as root chmod stops nothing: the parent-is-a-file cases above stand in for it
        if _writes_are_blocked(read_only):
            for target in (read_only / "journal.db", read_only / "sub" / "journal.db"):
                with pytest.raises(JournalError) as err:
                    SqliteJournal(target)
                assert err.value.reason == "not_writable"
    finally:
        read_only.chmod(0o700)


def test_read_only_existing_journal_is_refused_at_open(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "journal.db"
    with SqliteJournal(path) as j:
        j.append("fill", 1, "k", {})
    path.chmod(0o400)
    folder.chmod(0o500)
    try:
        if not _writes_are_blocked(folder):
            pytest.skip("running as root: file permissions do not stop writes")
        with pytest.raises(JournalError) as err:
            SqliteJournal(path)
        assert err.value.reason == "not_writable"
    finally:
        folder.chmod(0o700)
        path.chmod(0o600)


def test_garbage_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    garbage = b"this is not an SQLite database\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(JournalError) as err:
        SqliteJournal(path)
    assert err.value.reason == "corrupt"
    assert str(path) in str(err.value)
    assert path.read_bytes() == garbage  # never recreated


def test_empty_file_becomes_a_new_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    path.touch()  # e.g. created by a process killed before it wrote the schema
    with SqliteJournal(path) as j:
        assert j.append("fill", 1, "k", {}) == 1


def test_other_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE trades (id INTEGER)")
    conn.close()
    with pytest.raises(JournalError, match="not a clobsim journal") as err:
        SqliteJournal(path)
    assert err.value.reason == "corrupt"


def _tamper(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in statements:
        conn.execute(statement)
    conn.close()


def test_other_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    SqliteJournal(path).close()
    _tamper(path, "UPDATE schema_version SET version = 2")
    with pytest.raises(JournalError, match="schema version 2") as err:
        SqliteJournal(path)
    assert err.value.reason == "schema_version"


def test_wrong_columns_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    SqliteJournal(path).close()
    _tamper(path, "DROP TABLE state", "CREATE TABLE state (name TEXT PRIMARY KEY, value TEXT)")
    with pytest.raises(JournalError, match="table state has columns") as err:
        SqliteJournal(path)
    assert err.value.reason == "corrupt"


def test_undecodable_record_or_state_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with SqliteJournal(path) as j:
        j.append("fill", 1, "k", {"ok": True})
        j.append("fill", 2, "k", {"ok": True})
        j.save_state("s", {"ok": True}, 1)
    _tamper(
        path,
        "UPDATE records SET payload = '{\"ok\": tru' WHERE seq = 2",
        "UPDATE state SET state = '[1, 2]'",
    )
    with SqliteJournal(path) as j:
        it = j.records()
        assert next(it).payload == {"ok": True}
        with pytest.raises(JournalError, match="record 2 does not decode") as err:
            next(it)
        assert err.value.reason == "corrupt"
        with pytest.raises(JournalError, match="expected a dict") as err:
            j.load_state("s")
        assert err.value.reason == "corrupt"


def test_damaged_pages_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with SqliteJournal(path, synchronous="NORMAL") as j:
        for i in range(300):
            j.append("fill", i, f"k{i}", {"text": "x" * 200})
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    data[5 * page : 6 * page] = b"\xa5" * page  # scribble over one page of the b-tree
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError) as err:
        SqliteJournal(path)
    assert err.value.reason == "corrupt"
