"""Reconnect backoff shared by the live channels: exponential, jittered, seedable.

The n-th delay (n = 0, 1, ... consecutive failures) is uniform in
``[floor * c, c]``, ``c = min(cap_s, base_s * 2**n)``. ``floor`` 0 is "full jitter"
(the market channel: spreads reconnect storms widest); 0.5 is "equal jitter" (the user
channel: never near zero, so a refused login is not retried at full speed).
``reset()`` after a success. A seeded ``random.Random`` gives a reproducible sequence
(``random``'s module functions, which tenacity's jitter uses, cannot be seeded per
instance).
"""

from __future__ import annotations

import math
import random

from sim.errors import ConfigError


def _check_positive(key: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigError(key, f"must be a positive number of seconds, got {value!r}")


class Backoff:
    def __init__(self, base_s: float, cap_s: float, rng: random.Random | None = None,
                 *, floor: float = 0.0) -> None:  # fmt: skip
        _check_positive("backoff_base_s", base_s)
        _check_positive("backoff_cap_s", cap_s)
        if cap_s < base_s:
            raise ConfigError("backoff_cap_s", f"{cap_s} is below backoff_base_s {base_s}")
        if not 0.0 <= floor <= 1.0:
            raise ConfigError("backoff_floor", f"must be in [0, 1], got {floor!r}")
        self.base_s = base_s
        self.cap_s = cap_s
        self.floor = floor
        self.rng = rng if rng is not None else random.Random()
        self.failures = 0

    @property
    def ceiling_s(self) -> float:
        """The longest the next delay may be."""
        return min(self.cap_s, self.base_s * 2.0 ** min(self.failures, 64))

    def next_delay(self) -> float:
        """The delay before the next attempt (and one more failure counted)."""
        ceiling = self.ceiling_s
        self.failures += 1
        return self.rng.uniform(self.floor * ceiling, ceiling)

    def reset(self) -> None:
        self.failures = 0
