"""A trading process for the SIGKILL test: places orders until its target, printing each.

Usage: python tests/executor_proc.py JOURNAL VENUE TARGET

It recovers from the journal first (a no-op on the first start), then places
BUY orders until the executor's books hold TARGET orders that reached the
venue. The parent kills it with SIGKILL at some point and starts it again.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.clock import WallClock
from sim.events import FillEvent
from sim.executor import Executor, ExecutorConfig
from sim.journal import SqliteJournal
from sim.types import OrderStatus
from tests.helpers import make_market
from tests.persistent_venue import PersistentVenue


def main() -> None:
    journal_path, venue_path, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
    market = make_market(0, 0.01)
    clock = WallClock()
    venue = PersistentVenue(Path(venue_path), market, clock)
    cfg = ExecutorConfig(kill_switch_path=str(Path(journal_path).parent / "KILL"))
    with SqliteJournal(journal_path) as journal:
        ex = Executor(venue, clock, cash_usdc=1_000.0, config=cfg, markets=[market],
                      journal=journal)  # fmt: skip
        for line in ex.recover():
            print("RECOVER", line, flush=True)
        while True:
            done = [o for o in ex.tracker.orders.values() if o.status is not OrderStatus.REJECTED]
            if len(done) >= target:
                break
            ack = ex.buy(market.yes_token_id, 0.01 * (1 + len(done) % 90), 5.0)
            for f in venue.fills(0, deadline_s=1.0):
                if f.client_order_id == ack.client_order_id:
                    ex.on_venue_event(FillEvent(f.ts_ns, clock.now_ns(), f))
            print("PLACED", ack.client_order_id, ack.accepted, flush=True)
        print("DONE", len(done), flush=True)


if __name__ == "__main__":
    main()
