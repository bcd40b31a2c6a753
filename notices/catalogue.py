"""The catalogue of legal bases: data files under notices/bases/, validated at start-up.

Each basis says what its law requires of a notice (elements, statements,
deadline, who may send, escalation), with its citation and the date the text
was checked. Templates mark each element; `missing_elements` proves a
rendering carries all of them.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

BASES_DIR = Path(__file__).resolve().parent / "bases"
SENDER_KINDS = frozenset({"self", "representative"})
RECIPIENT_KINDS = frozenset({"platform", "host", "search_engine", "regulator"})


@dataclass(frozen=True)
class Element:
    id: str
    wording: str
    satisfied_by: str


@dataclass(frozen=True)
class Statement:
    id: str
    text: str


@dataclass(frozen=True)
class Deadline:
    hours: int | None
    starts: str

    @property
    def timedelta(self) -> dt.timedelta | None:
        return dt.timedelta(hours=self.hours) if self.hours else None


@dataclass(frozen=True)
class Escalation:
    route: str
    summary: str


@dataclass(frozen=True)
class LegalBasis:
    id: str
    name: str
    jurisdiction: str
    citation: str
    as_of: dt.date
    unconfirmed: tuple[str, ...]
    who_may_send: frozenset[str]
    recipient_kinds: frozenset[str]
    covers_ai: bool
    template: str
    text_template: str
    deadline: Deadline | None
    statements: tuple[Statement, ...]
    elements: tuple[Element, ...]
    escalation: Escalation | None

    @property
    def element_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.elements)


def _require(data: dict[str, Any], key: str, kind: type, source: Path) -> object:
    if key not in data:
        raise ImproperlyConfigured(f"{source.name}: missing {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        raise ImproperlyConfigured(f"{source.name}: {key!r} must be {kind.__name__}")
    return value


def _list(data: dict[str, Any], key: str, source: Path, *, required: bool = True) -> list[Any]:
    if key not in data and not required:
        return []
    value = _require(data, key, list, source)
    assert isinstance(value, list)
    return value


def parse_basis(source: Path) -> LegalBasis:
    """Read and validate one basis file; any defect names the file and the key."""
    try:
        data = tomllib.loads(source.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ImproperlyConfigured(f"{source.name}: {exc}") from exc
    basis_id = str(_require(data, "id", str, source))
    if f"{basis_id}.toml" != source.name:
        raise ImproperlyConfigured(f"{source.name}: id {basis_id!r} must match the file name")
    senders = frozenset(str(v) for v in _list(data, "who_may_send", source))
    recipients = frozenset(str(v) for v in _list(data, "recipient_kinds", source))
    if not senders or not senders <= SENDER_KINDS:
        raise ImproperlyConfigured(f"{source.name}: who_may_send must be a subset of {sorted(SENDER_KINDS)}")
    if not recipients or not recipients <= RECIPIENT_KINDS:
        raise ImproperlyConfigured(f"{source.name}: recipient_kinds must be a subset of {sorted(RECIPIENT_KINDS)}")
    elements = tuple(
        Element(
            id=str(_require(e, "id", str, source)),
            wording=str(_require(e, "wording", str, source)),
            satisfied_by=str(_require(e, "satisfied_by", str, source)),
        )
        for e in _list(data, "elements", source)
    )
    if not elements or len({e.id for e in elements}) != len(elements):
        raise ImproperlyConfigured(f"{source.name}: elements must be non-empty with unique ids")
    deadline_data = data.get("deadline")
    deadline = None
    if isinstance(deadline_data, dict):
        hours = deadline_data.get("hours")
        if hours is not None and (not isinstance(hours, int) or hours <= 0):
            raise ImproperlyConfigured(f"{source.name}: deadline.hours must be a positive integer")
        deadline = Deadline(hours=hours, starts=str(_require(deadline_data, "starts", str, source)))
    escalation_data = data.get("escalation")
    escalation = None
    if isinstance(escalation_data, dict):
        escalation = Escalation(
            route=str(_require(escalation_data, "route", str, source)),
            summary=str(_require(escalation_data, "summary", str, source)),
        )
    as_of = _require(data, "as_of", dt.date, source)
    assert isinstance(as_of, dt.date)
    return LegalBasis(
        id=basis_id,
        name=str(_require(data, "name", str, source)),
        jurisdiction=str(_require(data, "jurisdiction", str, source)),
        citation=str(_require(data, "citation", str, source)),
        as_of=as_of,
        unconfirmed=tuple(str(u) for u in _list(data, "unconfirmed", source, required=False)),
        who_may_send=senders,
        recipient_kinds=recipients,
        covers_ai=bool(data.get("covers_ai", False)),
        template=str(_require(data, "template", str, source)),
        text_template=str(_require(data, "text_template", str, source)),
        deadline=deadline,
        statements=tuple(
            Statement(id=str(_require(s, "id", str, source)), text=str(_require(s, "text", str, source)))
            for s in _list(data, "statements", source, required=False)
        ),
        elements=elements,
        escalation=escalation,
    )


@cache
def load_catalogue() -> dict[str, LegalBasis]:
    return {basis.id: basis for basis in (parse_basis(p) for p in sorted(BASES_DIR.glob("*.toml")))}


def get_basis(basis_id: str) -> LegalBasis:
    try:
        return load_catalogue()[basis_id]
    except KeyError as exc:
        raise KeyError(f"No legal basis {basis_id!r}") from exc
