"""The simulated Polymarket CLOB: tick-indexed books and matching kernels.

Modules, one idea each:

* ``codes``    - integer codes: rejection reasons (with the venue's words),
                 order types, statuses, queue models, replay stop reasons.
* ``state``    - the array layout (books, markets, orders, fills, account) and
                 ``ClobState``, the one argument every kernel takes.
* ``direct``   - direct calls into the fixed-signature kernels (no per-call typing).
* ``ladder``   - price slots, YES/NO mapping, level updates, taker walks.
* ``fees``     - taker fee and per-fill cash/position accounting.
* ``orders``   - validation, fills, resting-order matching and queue models.
* ``matching`` - submit (validate, take, rest) and cancel.
* ``replay``   - the hot loop applying recorded rows.
* ``engine``   - ``SimBook``, the Python class owning the arrays.

Modelling choices (see ``orders`` for the exact resting-order rules):

* One book per market in YES-price terms; a NO order at q is matched as the
  YES complement at 1-q. Only one outcome's rows build a book (YES by default).
* Our taker fills remove the shares from the recorded ladder, so our later
  orders see them gone until the data next sets that level (an absolute size
  overwrites our removal). Our orders never match each other.
* A recorded level that crosses the other side clears the stale crossed
  levels: the recorded book is never crossed.
* Our resting orders are not in the recorded ladder (``best_bid``/``best_ask``
  show the recorded book); they fill from trades at or through their price
  and from recorded levels that move through it, as maker (no fee).
* GTD orders expire at ``expire_ns`` exactly (the venue's one-minute security
  threshold is the executor's business). Min size (shares) applies to GTC and
  GTD; the $1 minimum applies to marketable BUYs of any type.
"""

from exchange_mock.clob.codes import REASON_CODES, REASON_NAMES, REASONS, reason_message
from exchange_mock.clob.engine import OrderView, ReplayStop, SimBook, SubmitResult
from exchange_mock.clob.state import FILL_DTYPE

__all__ = [
    "FILL_DTYPE",
    "REASONS",
    "REASON_CODES",
    "REASON_NAMES",
    "OrderView",
    "ReplayStop",
    "SimBook",
    "SubmitResult",
    "reason_message",
]
