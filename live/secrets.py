"""Live credentials: from the environment or a ``.env`` file, never from a config file,
never logged, never printed.

Names (the environment wins over the file):

==========================  ==============================================================
``POLY_PRIVATE_KEY``        the signer's private key (hex, 0x-prefixed or not); required
``POLY_API_KEY``            API credentials; all three or none. None: derived at start
``POLY_API_SECRET``         with L1 auth (``create_or_derive_api_key``), as the venue
``POLY_API_PASSPHRASE``     allows
==========================  ==============================================================

``LiveSecrets`` shows only the signer's address and whether API credentials were
given: its ``repr`` never contains a secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values
from eth_account import Account

from sim.errors import ConfigError

PRIVATE_KEY = "POLY_PRIVATE_KEY"
API_NAMES = ("POLY_API_KEY", "POLY_API_SECRET", "POLY_API_PASSPHRASE")


@dataclass(frozen=True)
class LiveSecrets:
    private_key: str = field(repr=False)
    address: str
    api_creds: tuple[str, str, str] | None = field(default=None, repr=False)

    @property
    def has_api_creds(self) -> bool:
        return self.api_creds is not None

    def __repr__(self) -> str:
        creds = "given" if self.api_creds else "derived at start"
        return f"LiveSecrets(address={self.address}, api_creds={creds})"


def load_secrets(env: Mapping[str, str] | None = None,
                 dotenv_path: str | Path | None = ".env") -> LiveSecrets:  # fmt: skip
    """The live credentials. ``env`` defaults to ``os.environ``; ``dotenv_path`` is read
    if it exists (None: not at all). A missing or malformed key is a ``ConfigError``
    naming the variable, never echoing its value."""
    values: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    values.update(os.environ if env is None else env)
    key = (values.get(PRIVATE_KEY) or "").strip()
    if not key:
        raise ConfigError(PRIVATE_KEY, "is not set (environment or .env): the live venue "
                                       "needs the signer's private key")  # fmt: skip
    try:
        address = Account.from_key(key).address
    except (ValueError, TypeError):
        raise ConfigError(PRIVATE_KEY, "is not a valid hex private key") from None
    given = [(values.get(n) or "").strip() for n in API_NAMES]
    if any(given) and not all(given):
        missing = [n for n, v in zip(API_NAMES, given, strict=True) if not v]
        raise ConfigError(missing[0], "API credentials need all of " + ", ".join(API_NAMES))
    creds = (given[0], given[1], given[2]) if all(given) else None
    return LiveSecrets(key, address, creds)
