"""Check a config's ``[strategy.params]`` against the strategy class's ``__init__``.

Done before the strategy is built, so that ``size_shares = "ten"`` is refused at
start as ``strategy.params.size_shares`` instead of failing deep inside a run.

Checked annotations: ``int``, ``float``, ``str``, ``bool``, ``None``, unions
(``X | None``, ``Optional[X]``), ``list``/``tuple`` of those (a TOML array is a
list; it is converted for a ``tuple`` annotation), ``dict`` and ``Literal``.
An ``int`` is accepted for ``float`` (and converted); a ``bool`` is never a
number; an ``int`` needs a whole number (``3.0`` is refused). Anything else
(custom classes, ``Any``, no annotation, unresolvable hints) passes unchecked.
"""

from __future__ import annotations

import datetime as dt
import difflib
import inspect
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any

from sim.errors import ConfigError

_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_UNION_ORIGINS = (typing.Union, types.UnionType)


class _Unchecked(Exception):
    """The annotation is not one we check: the value passes as it is."""


class _Mismatch(Exception):
    """The value does not fit the annotation; ``detail`` says where, inside a container."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


def keyword_params(cls: type) -> dict[str, inspect.Parameter]:
    """The parameters of ``cls(...)`` a config can set (by keyword), in signature order."""
    return {n: p for n, p in _signature(cls).parameters.items() if p.kind in _KEYWORD_KINDS}


def takes_any_keyword(cls: type) -> bool:
    """True when ``cls.__init__`` has ``**kwargs``: then any key is accepted."""
    return any(p.kind is p.VAR_KEYWORD for p in _signature(cls).parameters.values())


def check_params(cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``params`` checked against ``cls``'s constructor, converted where allowed.

    Raises ``ConfigError`` (key ``strategy.params.NAME``) for an unknown key, a
    missing required parameter or a value of the wrong type.
    """
    name = cls.__name__
    accepted = keyword_params(cls)
    listing = ", ".join(accepted) or "none"
    if not takes_any_keyword(cls):
        for key in params:
            if key not in accepted:
                close = difflib.get_close_matches(key, list(accepted), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(
                    f"strategy.params.{key}",
                    f"{name} has no parameter {key!r}{hint}; it accepts: {listing}",
                )
    missing = [p for p, spec in accepted.items() if spec.default is spec.empty and p not in params]
    if missing:
        raise ConfigError(
            f"strategy.params.{missing[0]}",
            f"{name} requires {', '.join(map(repr, missing))} (no default); "
            "set it in [strategy.params]",
        )
    hints = _type_hints(cls, accepted)
    out = dict(params)
    for key, value in params.items():
        if key not in hints:
            continue
        spec = accepted[key]
        if value is None and spec.default is None:
            continue  # `x: float = None`: the default itself is always fine
        try:
            out[key] = _coerce(hints[key], value)
        except _Unchecked:
            continue
        except _Mismatch as exc:
            tp = hints[key]
            problem = f"expected {_describe(tp)} ({_type_name(tp)}), got {_show(value)}"
            if exc.detail:
                problem += f": {exc.detail}"
            raise ConfigError(f"strategy.params.{key}", problem) from None
    return out


# --- signature and hints -----------------------------------------------------------


def _signature(cls: type) -> inspect.Signature:
    try:
        return inspect.signature(cls)
    except (TypeError, ValueError):  # a builtin-backed constructor: nothing to check
        return inspect.Signature([inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])


def _type_hints(cls: type, accepted: Mapping[str, inspect.Parameter]) -> dict[str, Any]:
    """Resolved annotations of the keyword parameters; unresolvable ones are left out."""
    init = cls.__dict__.get("__init__") or getattr(cls, "__init__", None)
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # one bad hint (a TYPE_CHECKING import, a typo): resolve one by one
        hints = {}
        module = sys.modules.get(cls.__module__)
        namespace = getattr(init, "__globals__", None) or (vars(module) if module else {})
        for key, spec in accepted.items():
            ann = spec.annotation
            if isinstance(ann, str):
                try:
                    ann = eval(ann, dict(namespace))
                except Exception:
                    continue
            if ann is not spec.empty:
                hints[key] = ann
    return {k: v for k, v in hints.items() if k in accepted}


# --- the check -----------------------------------------------------------------------


def _coerce(tp: Any, value: Any) -> Any:
    """``value`` as ``tp`` wants it; ``_Mismatch`` if it does not fit, ``_Unchecked`` if unknown."""
    if tp is Any or tp is object:
        raise _Unchecked
    if tp is None or tp is type(None):
        if value is None:
            return None
        raise _Mismatch
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            raise _Mismatch(f"write {int(value)}, not {value!r}")
        raise _Mismatch
    if tp is float:
        if isinstance(value, bool):
            raise _Mismatch
        if isinstance(value, int):
            return float(value)
        if isinstance(value, float):
            return value
        raise _Mismatch
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in _UNION_ORIGINS:
        return _coerce_union(args, value)
    if origin is typing.Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise _Mismatch
    if tp in (list, tuple) or origin in (list, tuple):
        return _coerce_array(origin or tp, args, value)
    if tp is dict or origin is dict:
        return _coerce_table(args, value)
    raise _Unchecked


def _coerce_union(members: tuple[Any, ...], value: Any) -> Any:
    converted: list[Any] = []
    unchecked = False
    for member in members:
        try:
            result = _coerce(member, value)
        except _Mismatch:
            continue
        except _Unchecked:
            unchecked = True
            continue
        if result is value:
            return value  # an exact fit beats a conversion (`float | int` keeps 3 an int)
        converted.append(result)
    if converted:
        return converted[0]
    if unchecked:
        raise _Unchecked  # it may fit the member we cannot check
    raise _Mismatch


def _coerce_array(container: type, args: tuple[Any, ...], value: Any) -> Any:
    if not isinstance(value, list | tuple):
        raise _Mismatch
    if container is tuple and len(args) == 2 and args[1] is Ellipsis:
        item_types = [args[0]] * len(value)
    elif container is tuple and args:
        if len(args) != len(value):
            raise _Mismatch(f"{len(args)} items needed, {len(value)} given")
        item_types = list(args)
    elif container is list and args:
        item_types = [args[0]] * len(value)
    else:
        item_types = [Any] * len(value)
    items = []
    for i, (item_type, item) in enumerate(zip(item_types, value, strict=True)):
        try:
            items.append(_coerce(item_type, item))
        except _Unchecked:
            items.append(item)
        except _Mismatch as exc:
            extra = f" ({exc.detail})" if exc.detail else ""
            raise _Mismatch(
                f"item {i} is {_show(item)}, not {_describe(item_type)}{extra}"
            ) from None
    return tuple(items) if container is tuple else items


def _coerce_table(args: tuple[Any, ...], value: Any) -> Any:
    if not isinstance(value, dict):
        raise _Mismatch
    if len(args) != 2:
        return value
    out = {}
    for k, v in value.items():
        try:
            k = _coerce(args[0], k)
        except _Unchecked:
            pass
        except _Mismatch:
            raise _Mismatch(f"key {k!r} is not {_describe(args[0])}") from None
        try:
            out[k] = _coerce(args[1], v)
        except _Unchecked:
            out[k] = v
        except _Mismatch as exc:
            extra = f" ({exc.detail})" if exc.detail else ""
            raise _Mismatch(
                f"value of {k!r} is {_show(v)}, not {_describe(args[1])}{extra}"
            ) from None
    return out


# --- words for messages --------------------------------------------------------------

_WORDS = {
    int: ("a whole number", "whole numbers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
    bool: ("true or false", "booleans"),
    type(None): ("None", "Nones"),
    dict: ("a table", "tables"),
    list: ("an array", "arrays"),
    tuple: ("an array", "arrays"),
}


def _describe(tp: Any, plural: bool = False) -> str:
    """What ``tp`` wants, in words: ``a number``, ``an array of strings``, ..."""
    tp = type(None) if tp is None else tp
    if tp in _WORDS:
        return _WORDS[tp][plural]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in _UNION_ORIGINS:
        return " or ".join(_describe(a, plural) for a in args)
    if origin is typing.Literal:
        return ("one of " if len(args) > 1 else "") + ", ".join(map(repr, args))
    if origin in (list, tuple):
        base = _WORDS[origin][plural]
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            return f"{base} of {len(args)} items"
        if args and args[0] in _WORDS:
            return f"{base} of {_describe(args[0], plural=True)}"
        return base
    if origin is dict:
        return _WORDS[dict][plural]
    return _type_name(tp)


def _type_name(tp: Any) -> str:
    """``tp`` as it is written in Python: ``float``, ``float | None``, ``tuple[int, ...]``."""
    if tp is None or tp is type(None):
        return "None"
    if tp is Ellipsis:
        return "..."
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in _UNION_ORIGINS:
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return f"Literal[{', '.join(map(repr, args))}]"
    if origin is not None and args:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(map(_type_name, args))}]"
    return getattr(tp, "__name__", str(tp))


def _kind(value: Any) -> str:
    """The TOML-ish kind of a value, for messages."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, dt.datetime):
        return "a datetime"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, dt.time):
        return "a time"
    return f"a {type(value).__name__}"


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return text if value is None else f"{text} ({_kind(value)})"
