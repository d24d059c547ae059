"""One scripted order flow, two venues: ``LiveVenue`` over py-clob-client-v2 against the
loopback server, and the in-process matching venue over the same recording at the same
moment. Every acknowledgement, every order's end state, every fill and the balance must
agree: the live adapter changes the transport, never the order lifecycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange_mock.sim_venue import replay_venue
from live.clob_api import ClobApi
from live.live_venue import LiveVenue
from sim.clock import SimClock, WallClock
from sim.marketdata import Dataset
from sim.types import OrderRequest, OrderType, Side
from tests.server_helpers import KEY, NO, T0, YES, M, running_server, write_dataset

S = 1_000_000_000
D = 2.0  # every call's deadline

#: (client id, token, price, size, order type, post only); "cancel <id>" cancels
SCRIPT: list[tuple | str] = [
    ("rest", YES, 0.45, 10.0, OrderType.GTC, False),  # rests under the bid
    ("take_part", YES, 0.52, 60.0, OrderType.GTC, False),  # 50 at 0.52, 10 rest there
    ("fok_big", YES, 0.53, 1000.0, OrderType.FOK, False),  # not all there: killed
    ("fak", YES, 0.53, 40.0, OrderType.FAK, False),  # takes what it can of 0.53
    ("cross", YES, 0.60, 10.0, OrderType.GTC, True),  # post-only that would cross
    ("tiny", YES, 0.40, 2.0, OrderType.GTC, False),  # under the minimum size
    ("no_bid", NO, 0.30, 10.0, OrderType.GTC, False),  # the complement token rests
    "cancel rest",
    "cancel rest",  # already canceled
    ("late", YES, 0.44, 10.0, OrderType.GTC, False),
]


def run_script(venue) -> dict:
    acks, cancels = [], []
    for step in SCRIPT:
        if isinstance(step, str):
            cid = step.split()[1]
            cancels.append((cid, venue.cancel(cid, deadline_s=D).canceled))
            continue
        cid, token, price, size, otype, post_only = step
        order = OrderRequest(cid, token, Side.BUY, price, size, otype, post_only=post_only)
        ack = venue.place(order, deadline_s=D)
        acks.append((cid, ack.accepted, ack.status.value, ack.reason))
    states = {}
    for step in SCRIPT:
        if isinstance(step, tuple):
            st = venue.get_order(step[0], deadline_s=D)
            states[step[0]] = None if st is None else (st.status.value, st.filled_shares)
    fills = sorted((f.client_order_id, f.asset_id, f.price, f.size_shares, f.liquidity.value)
                   for f in venue.fills(0, deadline_s=D))  # fmt: skip
    opened = sorted(s.client_order_id for s in venue.open_orders(deadline_s=D))
    cash = round(venue.balance(deadline_s=D).total_usdc, 6)
    return {"acks": acks, "cancels": cancels, "states": states, "fills": fills,
            "open": opened, "cash": cash}  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("lifecycle") / "ds", minutes=2)


def test_the_live_adapter_and_the_matching_venue_tell_the_same_lifecycle(data: Path) -> None:
    with running_server(data) as run:  # the replay stands still at its opening book
        live = LiveVenue(ClobApi(run.urls.rest, 137, KEY, http_timeout_s=D), [M], WallClock())
        try:
            over_the_wire = run_script(live)
        finally:
            live.api.close()
    clock = SimClock(T0)
    venue, driver = replay_venue(Dataset.open(data), clock=clock, cash_usdc=10_000.0)
    driver.advance(T0 + S // 2)  # the moment the server's replay stands at
    clock.advance_to(T0 + S // 2)
    in_process = run_script(venue)
    assert over_the_wire == in_process
    # and the flow exercised what it claims: fills, a kill, a refusal, a cancel, rests
    assert {a[3] for a in in_process["acks"]} >= {"", "fok_not_filled", "post_only_cross",
                                                   "min_size"}  # fmt: skip
    assert len(in_process["fills"]) >= 2 and in_process["open"]
    assert in_process["cancels"] == [("rest", True), ("rest", False)]
