"""The loopback server with the unchanged official client (py-clob-client-v2) as caller:
place, batch-post, cancel, read orders, trades, books and balances."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from py_clob_client_v2 import OrderArgs, OrderMarketCancelParams, PartialCreateOrderOptions
from py_clob_client_v2.clob_types import (
    AssetType,
    BalanceAllowanceParams,
    MarketOrderArgs,
    OpenOrderParams,
    OrderPayload,
    OrderType,
    PostOrdersV2Args,
    TradeParams,
)
from py_clob_client_v2.exceptions import PolyApiException
from py_clob_client_v2.utilities import generate_orderbook_summary_hash, parse_raw_orderbook_summary

from exchange_mock.server import pages
from tests.server_helpers import KEY, NO, OTHER_KEY, YES, M, client, running_server, write_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("server") / "ds")


def test_book_markets_and_settings_are_what_the_client_reads(data: Path) -> None:
    with running_server(data) as run:
        c = client(run.urls)
        assert c.get_ok() == "OK"
        book = c.get_order_book(YES)
        assert [lv["price"] for lv in book["bids"]] == ["0.47", "0.48"]  # best level last
        assert [lv["price"] for lv in book["asks"]] == ["0.53", "0.52"]
        assert book["hash"] == generate_orderbook_summary_hash(parse_raw_orderbook_summary(book))
        no_book = c.get_order_book(NO)  # the NO token's book mirrors the YES book
        assert no_book["bids"][-1]["price"] == "0.48" and no_book["asks"][-1]["price"] == "0.52"
        assert c.get_tick_size(YES) == "0.01" and c.get_neg_risk(YES) is False
        info = c.get_clob_market_info(M.condition_id)
        assert [t["t"] for t in info["t"]] == [YES, NO]
        assert c.get_markets()["data"][0]["tokens"][0]["token_id"] == YES
        with pytest.raises(PolyApiException) as err:
            c.get_order_book("123")
        assert err.value.status_code == 400


def test_place_read_and_cancel_a_resting_order(data: Path) -> None:
    with running_server(data) as run:
        c = client(run.urls)
        resp = c.create_and_post_order(OrderArgs(token_id=YES, price=0.45, size=10, side="BUY"))
        assert resp["success"] and resp["status"] == "live" and resp["tradeIDs"] == []
        oid = resp["orderID"]
        order = c.get_order(oid)
        assert (order["status"], order["price"], order["side"]) == ("LIVE", "0.45", "BUY")
        assert [o["id"] for o in c.get_open_orders()] == [oid]
        assert c.cancel_order(OrderPayload(orderID=oid)) == {"canceled": [oid], "not_canceled": {}}
        assert c.get_open_orders() == [] and c.get_order(oid)["status"] == "CANCELED"
        again = c.cancel_order(OrderPayload(orderID=oid))
        assert again["canceled"] == [] and oid in again["not_canceled"]


def test_a_resting_bid_fills_from_recorded_prints(data: Path) -> None:
    with running_server(data) as run:
        c = client(run.urls)
        oid = c.create_and_post_order(OrderArgs(token_id=YES, price=0.48, size=5, side="BUY"))[
            "orderID"
        ]
        run.advance(120.0)  # recorded sellers hit 0.48 every 2 s; our 5 shares queue behind
        order = c.get_order(oid)
        assert order["status"] == "MATCHED" and order["size_matched"] == "5"
        trades = c.get_trades(TradeParams(id=order["associate_trades"][0]))
        assert trades[0]["trader_side"] == "MAKER" and trades[0]["status"] == "CONFIRMED"
        assert trades[0]["maker_orders"][0]["order_id"] == oid
        assert trades[0]["transaction_hash"].startswith("0x")
        bal = c.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL,
                                                             token_id=YES))  # fmt: skip
        assert bal["balance"] == "5000000"


def test_a_marketable_order_matches_and_its_hash_arrives_later(data: Path) -> None:
    with running_server(data) as run:
        c = client(run.urls)
        order = c.create_market_order(MarketOrderArgs(token_id=YES, amount=10.4, side="BUY",
                                                      price=0.52))  # fmt: skip
        resp = c.post_order(order, OrderType.FOK, defer_exec=True)  # no 30 s poll
        assert resp["status"] == "matched" and len(resp["tradeIDs"]) == 1
        assert resp["transactionsHashes"] == []  # as the venue answers since 2026-07-24
        assert (resp["makingAmount"], resp["takingAmount"]) == ("10.4", "20")
        trade = c.get_trades(TradeParams(id=resp["tradeIDs"][0]))[0]
        assert trade["status"] == "MATCHED" and trade["transaction_hash"] == ""
        run.advance(3.0)
        trade = c.get_trades(TradeParams(id=resp["tradeIDs"][0]))[0]
        assert trade["status"] == "MINED" and trade["transaction_hash"].startswith("0x")
        assert trade["trader_side"] == "TAKER" and trade["taker_order_id"] == resp["orderID"]
        usdc = c.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.COLLATERAL))
        assert usdc["balance"] == str(10_000_000_000 - 10_400_000)


def test_refusals_carry_the_venues_status_and_words(data: Path) -> None:
    with running_server(data) as run:
        c = client(run.urls)
        with pytest.raises(PolyApiException) as err:
            c.create_and_post_order(OrderArgs(token_id=YES, price=0.45, size=2, side="BUY"))
        assert err.value.status_code == 400
        assert "lower than the minimum: 5" in str(err.value.error_msg)
        with pytest.raises(PolyApiException) as err:
            c.create_and_post_order(OrderArgs(token_id=YES, price=0.55, size=10, side="BUY"),
                                    PartialCreateOrderOptions(), post_only=True)  # fmt: skip
        assert "order crosses book" in str(err.value.error_msg)
        with pytest.raises(PolyApiException) as err:  # 20 shares at 0.52 are not there
            order = c.create_market_order(MarketOrderArgs(token_id=YES, amount=60, side="BUY",
                                                          price=0.52))  # fmt: skip
            c.post_order(order, OrderType.FOK, defer_exec=True)
        assert "FOK orders are fully filled or killed" in str(err.value.error_msg)
        poor = client(run.urls, OTHER_KEY)  # a wallet the mock never funded
        with pytest.raises(PolyApiException) as err:
            poor.create_and_post_order(OrderArgs(token_id=YES, price=0.45, size=10, side="BUY"))
        assert err.value.error_msg == {"error": "not enough balance / allowance"}
        assert poor.get_balance_allowance()["balance"] == "0"


def test_bad_credentials_are_401_and_a_foreign_signer_is_refused(data: Path) -> None:
    with running_server(data) as run:
        c = client(run.urls)
        c.creds.api_secret = base64.urlsafe_b64encode(b"x" * 32).decode()  # a wrong HMAC key
        with pytest.raises(PolyApiException) as err:
            c.get_open_orders()
        assert (err.value.status_code, err.value.error_msg) == (
            401, {"error": "Unauthorized/Invalid api key"})  # fmt: skip
        other = client(run.urls, OTHER_KEY)
        signed = client(run.urls, KEY).create_order(
            OrderArgs(token_id=YES, price=0.45, size=10, side="BUY"))  # fmt: skip
        with pytest.raises(PolyApiException) as err:  # KEY's order posted with OTHER's key
            other.post_order(signed)
        assert "signer address has to be the address of the API KEY" in str(err.value.error_msg)


def test_batches_and_bulk_cancels(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)  # the client must follow the cursor
    with running_server(data) as run:
        c = client(run.urls)
        args = [PostOrdersV2Args(order=c.create_order(OrderArgs(token_id=YES, price=p, size=10,
                                                              side="BUY")),
                               orderType=OrderType.GTC) for p in (0.40, 0.41, 0.42)]  # fmt: skip
        args.append(PostOrdersV2Args(order=c.create_order(OrderArgs(token_id=NO, price=0.40,
                                                                  size=10, side="BUY")),
                                   orderType=OrderType.GTC))  # fmt: skip
        answers = c.post_orders(args)
        assert [a["status"] for a in answers] == ["live"] * 4
        ids = [a["orderID"] for a in answers]
        assert sorted(o["id"] for o in c.get_open_orders()) == sorted(ids)  # 2 pages
        assert [o["id"] for o in c.get_open_orders(OpenOrderParams(asset_id=NO))] == [ids[3]]
        assert c.cancel_orders(ids[:1])["canceled"] == ids[:1]
        gone = c.cancel_market_orders(OrderMarketCancelParams(asset_id=NO))
        assert gone["canceled"] == [ids[3]]
        assert sorted(c.cancel_all()["canceled"]) == sorted(ids[1:3])
        assert c.get_open_orders() == []


def test_the_heartbeat_dead_mans_switch_cancels_everything(data: Path) -> None:
    with running_server(data) as run:
        c = client(run.urls)
        beat = c.post_heartbeat("")["heartbeat_id"]
        oid = c.create_and_post_order(OrderArgs(token_id=YES, price=0.45, size=10, side="BUY"))[
            "orderID"
        ]
        with pytest.raises(PolyApiException) as err:
            c.post_heartbeat("stale")
        assert err.value.status_code == 400 and err.value.error_msg["heartbeat_id"] == beat
        run.advance(5.0)
        beat = c.post_heartbeat(beat)["heartbeat_id"]
        run.advance(9.0)  # within 10 s of the last beat: still there
        assert c.get_order(oid)["status"] == "LIVE"
        run.advance(2.0)
        assert c.get_order(oid)["status"] == "CANCELED"


def test_the_replay_starts_at_the_first_book_not_at_feed_only_rows(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "ds", minutes=1, feed_lead_s=1800.0)
    with running_server(data) as run:  # 30 minutes of connection rows come first
        book = client(run.urls).get_order_book(YES)
        assert book["bids"][-1]["price"] == "0.48" and book["asks"][-1]["price"] == "0.52"
