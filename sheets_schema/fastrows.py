"""A fast path for rows in the form Ichigen itself writes, beside pydantic's full validation.

Validating a row through the models' BeforeValidators costs ~15 µs; a cycle reads tens of
thousands of rows of 商品/在庫/モール商品/_在庫送信/_台帳集計 that hold exactly what Ichigen last
wrote. For such cells ("12", "2026-11-30 12:00:00", "ON", a stripped identifier, a status
spelled exactly) the value is obvious: this module decodes them and builds the model without
pydantic's validators. Anything else (full-width digits, "1,980円", a blank required cell, a
value out of range, a date typed with slashes) is declined, and the caller validates the row
the normal way, so every error and every normalisation stays pydantic's.

Each field's decoder is derived from its annotation and constraints; a model with a field this
module does not understand has no fast path at all. tests/test_parsing.py holds the two paths
to the same answer on canonical and odd cells alike.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import annotated_types
from pydantic import BaseModel, BeforeValidator

from sheets_schema import cells as cell_types
from vocabulary import limits
from vocabulary.jst import JST


class _Decline(Exception):
    """This cell is not in Ichigen's own form: validate the row the slow way."""


_DECLINE = _Decline()
Decoder = Callable[[str], Any]


def _stripped(text: str) -> str:
    # Identifiers and free text are kept as typed, stripped (the validator, then the models'
    # str_strip_whitespace). Cells with whitespace at an end are left to pydantic: Python's
    # and pydantic's ideas of whitespace need not agree on every code point.
    if text == text.strip():
        return text
    raise _DECLINE


def _integer(text: str) -> int:
    digits = text[1:] if text.startswith("-") else text  # signed: 手動調整, a negative 引当数 total
    if digits.isascii() and digits.isdigit():
        return int(text)
    raise _DECLINE


_DATETIMES: dict[str, datetime] = {}  # many rows share a time (written by the same cycle)


def _datetime(text: str) -> datetime:
    found = _DATETIMES.get(text)
    if found is not None:
        return found
    value = _read_datetime(text)
    if len(_DATETIMES) >= 100_000:
        _DATETIMES.clear()
    _DATETIMES[text] = value  # datetimes are immutable: sharing one is safe
    return value


def _read_datetime(text: str) -> datetime:
    # The slow path normalises (NFKC, strip: nothing to do for stripped ASCII) and reads ISO
    # 8601 after turning "/" into "-"; only the plain naive form is taken here.
    if text.isascii() and "/" not in text and text == text.strip():
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise _DECLINE from None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=JST)
    raise _DECLINE


def _date(text: str) -> date:
    # Only the form Ichigen writes ('2026-12-01'); the slow path reads the rest.
    if len(text) == 10 and text.isascii():
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise _DECLINE


def _on_off(text: str) -> bool:
    if text == "ON":
        return True
    if text == "OFF":
        return False
    raise _DECLINE


def _literal(choices: tuple[Any, ...]) -> Decoder:
    allowed = frozenset(c for c in choices if isinstance(c, str))

    def decode(text: str) -> str:
        if text in allowed:
            return text
        raise _DECLINE

    decode.allowed = allowed  # type: ignore[attr-defined]
    return decode


def _bounded(bound: str) -> Decoder:
    """An integer within a bound of vocabulary.limits (quantities, yen), read at decode time."""

    def decode(text: str) -> int:
        value = _integer(text)
        if abs(value) > getattr(limits.current(), bound):
            raise _DECLINE  # pydantic words the error
        return value

    decode.bound = bound  # type: ignore[attr-defined]
    return decode


_quantity = _bounded("max_quantity")
_yen = _bounded("max_yen")

_BY_VALIDATOR: dict[Any, tuple[Decoder, type]] = {
    cell_types._identifier: (_stripped, str),
    cell_types._integer: (_integer, int),
    cell_types._quantity: (_quantity, int),
    cell_types._yen: (_yen, int),
    cell_types._jst_datetime: (_datetime, datetime),
    cell_types._jst_date: (_date, date),
    cell_types._on_off: (_on_off, bool),
    cell_types._optional_text: (_stripped, str),
}


def _validators(metadata: Sequence[Any]) -> list[Any]:
    return [m.func for m in metadata if isinstance(m, BeforeValidator)]


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _base_decoder(annotation: Any, metadata: Sequence[Any]) -> Decoder | None:
    """The decoder for an annotation (maybe Annotated[...]) and the field's own validators."""
    validators = _validators(metadata)
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        validators += _validators(extra)
        if any(not isinstance(m, BeforeValidator) and not _is_serializer(m) for m in extra):
            return None
        annotation = inner
    if typing.get_origin(annotation) is typing.Literal:
        return _literal(typing.get_args(annotation)) if not validators else None
    if len(validators) != 1 or validators[0] not in _BY_VALIDATOR:
        return None
    decoder, kind = _BY_VALIDATOR[validators[0]]
    return decoder if annotation is kind else None


def _is_serializer(meta: Any) -> bool:
    from pydantic import PlainSerializer

    return isinstance(meta, PlainSerializer)


def _constrained(decoder: Decoder, constraints: list[Any]) -> Decoder | None:
    checks: list[Callable[[Any], bool]] = []
    for c in constraints:
        if isinstance(c, annotated_types.Ge):
            checks.append(lambda v, b=c.ge: v >= b)
        elif isinstance(c, annotated_types.Gt):
            checks.append(lambda v, b=c.gt: v > b)
        elif isinstance(c, annotated_types.Le):
            checks.append(lambda v, b=c.le: v <= b)
        elif isinstance(c, annotated_types.MinLen):
            checks.append(lambda v, n=c.min_length: len(v) >= n)
        elif getattr(c, "pattern", None) and set(vars(c)) <= {"pattern"}:
            checks.append(lambda v, p=re.compile(c.pattern): p.search(v) is not None)
        else:
            return None  # a constraint not understood here: always the slow path
    if not checks:
        return decoder

    def decode(text: str) -> Any:
        value = decoder(text)
        for check in checks:
            if not check(value):
                raise _DECLINE  # out of range: pydantic words the error
        return value

    # ge=0 alone: what a plain run of digits always satisfies (the generated code's shortcut)
    decode.nonnegative = (
        len(constraints) == 1 and isinstance(constraints[0], annotated_types.Ge) and constraints[0].ge == 0
    )  # type: ignore[attr-defined]
    return decode


class FastRows:
    """Builds a model from a row's cells in Ichigen's own form, or returns None.

    ``build`` is generated per model and header (plain Python, no loop over fields): this runs
    for every row a cycle reads, tens of thousands of times."""

    def __init__(self, model: type[BaseModel], build: Callable[[Sequence[str]], BaseModel | None]) -> None:
        self.model = model
        self.build = build

    @classmethod
    def compile(cls, model: type[BaseModel], header: Sequence[str]) -> FastRows | None:
        config = model.model_config
        if not config.get("str_strip_whitespace") or config.get("extra") != "ignore":
            return None
        decorators = model.__pydantic_decorators__
        if decorators.field_validators or decorators.model_validators or decorators.validators:
            return None
        names: dict[str, Any] = {"_new": model.__new__, "_model": model, "_set": object.__setattr__}
        names["_Decline"] = _Decline
        required_names: list[str] = []
        body: list[str] = []
        for i, (name, info) in enumerate(model.model_fields.items()):
            alias = info.alias or name
            annotation, optional = _unwrap_optional(info.annotation)
            metadata = list(info.metadata)
            if optional:
                if _validators(metadata) != [cell_types.blank_to_none]:
                    return None
                metadata = [m for m in metadata if not isinstance(m, BeforeValidator)]
            constraints = [
                m for m in metadata if not isinstance(m, BeforeValidator) and not _is_serializer(m)
            ]
            base = _base_decoder(annotation, [m for m in metadata if isinstance(m, BeforeValidator)])
            if base is None:
                return None
            decoder = _constrained(base, constraints)
            if decoder is None:
                return None
            names[f"_d{i}"] = decoder
            required = info.is_required()
            if not required:
                names[f"_default{i}"] = info.get_default(call_default_factory=True)
            position = header.index(alias) if alias in header else -1
            body.append(f"    t = cells[{position}]" if position >= 0 else '    t = ""')
            if required:
                required_names.append(name)
                body.append("    if not t or t.isspace(): return None")
                body += [f"    {line}" for line in _decode_lines(i, base, decoder, names)]
            else:
                body.append(f"    if not t or t.isspace(): x{i} = _default{i}")
                body.append("    else:")
                body += [f"        {line}" for line in _decode_lines(i, base, decoder, names)]
                body.append(f"        given.add({name!r})")
        fields = ", ".join(f"{name!r}: x{i}" for i, name in enumerate(model.model_fields))
        source = "\n".join(
            [
                "def build(cells):",
                # A row shorter than the header (a grid not padded by its adapter) reads blank.
                f"    if len(cells) < {len(header)}: cells = [*cells, *[''] * ({len(header)} - len(cells))]",
                f"    given = {set(required_names)!r}" if required_names else "    given = set()",
                "    try:",
                *[f"    {line}" for line in body],
                "    except _Decline:",
                "        return None",
                "    m = _new(_model)",
                f"    _set(m, '__dict__', {{{fields}}})",
                "    _set(m, '__pydantic_fields_set__', given)",
                "    _set(m, '__pydantic_extra__', None)",
                "    _set(m, '__pydantic_private__', None)",
                "    return m",
            ]
        )
        exec(compile(source, f"<fast rows {model.__name__}>", "exec"), names)
        return cls(model, names["build"])


def _decode_lines(i: int, base: Decoder, decoder: Decoder, names: dict[str, Any]) -> list[str]:
    """Inline code for the common cases; the decoder function for the rest."""
    if decoder is base and base is _stripped:
        return ["if t != t.strip(): return None", f"x{i} = t"]
    if base in (_integer, _quantity, _yen) and (decoder is base or getattr(decoder, "nonnegative", False)):
        # Plain digits (ge=0, the usual constraint, holds for them) are decoded inline; under a
        # bound, only runs shorter than the bound's own digits (always within it): the compiled
        # code is cached per limits (sheets_schema.parsing), so a changed bound recompiles.
        bound = getattr(base, "bound", None)
        short = f" and len(t) < {len(str(getattr(limits.current(), bound)))}" if bound else ""
        return [f"x{i} = int(t) if t.isdigit() and t.isascii(){short} else _d{i}(t)"]
    if decoder is base and base is _datetime:
        names["_datetimes"] = _DATETIMES
        return [f"x{i} = _datetimes.get(t) or _d{i}(t)"]
    if decoder is base and getattr(base, "allowed", None) is not None:
        names[f"_allowed{i}"] = base.allowed  # type: ignore[attr-defined]
        return [f"if t not in _allowed{i}: return None", f"x{i} = t"]
    if decoder is base and base is _on_off:
        return [f"x{i} = True if t == 'ON' else (False if t == 'OFF' else _d{i}(t))"]
    return [f"x{i} = _d{i}(t)"]
