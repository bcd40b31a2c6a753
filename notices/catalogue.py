"""The catalogue of legal bases: data files under notices/bases/, validated at start-up.

Each basis says what its law requires of a notice (elements, statements,
deadline, who may send, escalation), with its citation and the date the text
was checked. Templates mark each element; `missing_elements` proves a
rendering carries all of them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

BASES_DIR = Path(__file__).resolve().parent / "bases"
SENDER_KINDS = frozenset({"self", "representative"})
RECIPIENT_KINDS = frozenset({"platform", "host", "search_engine", "regulator", "tribunal"})
# Where an element's wording comes from: the statute itself, the regulator's or
# tribunal's published guidance, a company's own form, or (where the law sets
# no form at all) Redress's standard for a complete demand.
ELEMENT_SOURCES = frozenset({"statute", "guidance", "form", "redress"})
# Statement kinds the checker treats precisely (README "Elements that are
# statutory in only some bases").
STATEMENT_KINDS = frozenset(
    {"good_faith", "bona_fide", "penalty_of_perjury", "accuracy", "authority", "consent", "residence", "ownership"}
)
# What the sender's contact block must hold; "email_or_phone" is either.
SENDER_FIELDS = frozenset({"name", "email", "phone", "email_or_phone"})
# Facts about the case a basis needs before it can be proposed at all.
REQUIREMENTS = frozenset({"survivor_made_it"})
# What starts the clock: this notice reaching the recipient, or a later act of
# someone else (eSafety's removal notice; a tribunal's order).
CLOCKS = frozenset({"receipt", "regulator_notice", "tribunal_order"})
# What the recipient must do by the deadline.
DEADLINE_ACTIONS = frozenset({"remove", "acknowledge", "respond", "comply"})
# Values render.py knows how to fill into a web form's answers.
FORM_SOURCES = frozenset(
    {
        "survivor_country",
        "sender_name",
        "sender_email",
        "depicted_name",
        "acting_for",
        "urls",
        "content_description",
        "identifiable",
        "nonconsent",
        "consent_ever_given",
        "to_complete",
    }
)


@dataclass(frozen=True)
class Element:
    id: str
    wording: str
    satisfied_by: str
    source: str = "statute"


@dataclass(frozen=True)
class Statement:
    id: str
    text: str
    kind: str = ""


def add_months(start: dt.datetime, months: int) -> dt.datetime:
    """The same date `months` later, or that month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Period:
    """A length of time in the unit the law uses: hours, days or calendar months (one of them)."""

    hours: int | None = None
    days: int | None = None
    months: int | None = None

    def __bool__(self) -> bool:
        return bool(self.hours or self.days or self.months)

    def after(self, start: dt.datetime) -> dt.datetime:
        """When the period ends. A period in months ends with the last second of the same date
        that many months on (or of that month's last day): Regulation 1182/71, Art. 3(2)(c)."""
        if self.months:
            return add_months(start, self.months).replace(hour=23, minute=59, second=59, microsecond=0)
        return start + dt.timedelta(hours=self.hours or 0, days=self.days or 0)

    @property
    def approx_hours(self) -> int:
        """For ordering only: a month counted as 31 days."""
        return (self.hours or 0) + 24 * (self.days or 0) + 24 * 31 * (self.months or 0)

    @property
    def phrases(self) -> frozenset[str]:
        """How a notice may state this period ("48 hours", "one month")."""
        words = {1: "one", 2: "two", 3: "three", 7: "seven"}
        out: set[str] = set()
        for amount, unit in ((self.hours, "hour"), (self.days, "day"), (self.months, "month")):
            if amount:
                for number in (str(amount), words.get(amount, str(amount))):
                    out.add(f"{number} {unit}{'' if amount == 1 else 's'}")
        return frozenset(out)


@dataclass(frozen=True)
class Milestone:
    """A further step the law times: an acknowledgement, a status update, an extension."""

    period: Period
    what: str
    starts: str


@dataclass(frozen=True)
class Deadline:
    """What the law gives the recipient, and what starts the clock.

    `hours`, `days` or `months` is the fixed period, if the law sets one; with
    none of them the deadline is only `description` ("expeditiously", "without
    undue delay"), and nothing may claim a number of hours.
    """

    hours: int | None
    starts: str
    days: int | None = None
    months: int | None = None
    clock: str = "receipt"
    action: str = "remove"
    description: str = ""
    extension: Milestone | None = None
    milestones: tuple[Milestone, ...] = ()

    @property
    def period(self) -> Period:
        return Period(hours=self.hours, days=self.days, months=self.months)

    @property
    def starts_on_receipt(self) -> bool:
        return self.clock == "receipt"

    @property
    def timedelta(self) -> dt.timedelta | None:
        """The fixed time from sending this notice to the deadline, if there is one.

        None when the law sets no period, when it is in calendar months (use
        `due`), or when the clock is started by someone else (eSafety's notice,
        a tribunal's order): sending this notice does not start it.
        """
        if not self.starts_on_receipt or self.months:
            return None
        if self.hours or self.days:
            return dt.timedelta(hours=self.hours or 0, days=self.days or 0)
        return None

    def due(self, received_at: dt.datetime) -> dt.datetime | None:
        """When the recipient's time runs out, counted from receipt of this notice; None if not fixed."""
        if not self.starts_on_receipt or not self.period:
            return None
        return self.period.after(received_at)

    @property
    def phrases(self) -> frozenset[str]:
        """Every period a notice under this basis may state."""
        out = set(self.period.phrases)
        for milestone in (*self.milestones, *([self.extension] if self.extension else [])):
            out |= milestone.period.phrases
        return frozenset(out)


@dataclass(frozen=True)
class Escalation:
    route: str
    summary: str


@dataclass(frozen=True)
class FormField:
    """One question of a web form (search engines), answered from the case."""

    id: str
    label: str
    source: str
    required: bool
    help: str = ""


@dataclass(frozen=True)
class NationalOffence:
    """A member state's offence that makes sharing intimate images without consent illegal (DSA notices)."""

    country: str
    country_name: str
    citation: str
    ai_citation: str = ""
    verified: bool = False


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
    # Optional keys; the defaults describe a plain notice to a platform.
    covers_real: bool = True
    requires: frozenset[str] = frozenset()
    sender_fields: tuple[str, ...] = ("email_or_phone",)
    recipient_name: str = ""
    recipient_url: str = ""
    form_urls: tuple[tuple[str, str], ...] = ()
    form_fields: tuple[FormField, ...] = ()
    national_offences: tuple[NationalOffence, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def element_ids(self) -> tuple[str, ...]:
        return tuple(e.id for e in self.elements)

    @property
    def statement_kinds(self) -> frozenset[str]:
        return frozenset(s.kind for s in self.statements if s.kind)

    def statement(self, statement_id: str) -> Statement | None:
        return next((s for s in self.statements if s.id == statement_id), None)

    def form_url(self, content_kind: str) -> str:
        """The form to use for this kind of content ("real", "ai"), else the basis's general one ("any")."""
        urls = dict(self.form_urls)
        return urls.get(content_kind) or urls.get("any") or urls.get("real", "")

    def offence_for(self, country: str) -> NationalOffence | None:
        return next((o for o in self.national_offences if o.country == country), None)


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


def _optional(data: dict[str, Any], key: str, kind: type, default: Any, source: Path) -> Any:
    if key not in data:
        return default
    return _require(data, key, kind, source)


def _subset(values: list[Any], allowed: frozenset[str], key: str, source: Path) -> frozenset[str]:
    found = frozenset(str(v) for v in values)
    if not found <= allowed:
        raise ImproperlyConfigured(f"{source.name}: {key} must be a subset of {sorted(allowed)}")
    return found


def _period(data: dict[str, Any], key: str, source: Path) -> Period:
    """At most one of hours/days/months, a positive integer."""
    given = {unit: data[unit] for unit in ("hours", "days", "months") if data.get(unit) is not None}
    if len(given) > 1:
        raise ImproperlyConfigured(f"{source.name}: {key} takes one of hours, days or months, not {sorted(given)}")
    for unit, amount in given.items():
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ImproperlyConfigured(f"{source.name}: {key}.{unit} must be a positive integer")
    return Period(**given)


def _milestone(data: Any, key: str, source: Path) -> Milestone:
    if not isinstance(data, dict):
        raise ImproperlyConfigured(f"{source.name}: {key} must be a table")
    period = _period(data, key, source)
    if not period:
        raise ImproperlyConfigured(f"{source.name}: {key} needs hours, days or months")
    return Milestone(
        period=period,
        what=str(_require(data, "what", str, source)),
        starts=str(_require(data, "starts", str, source)),
    )


def _deadline(data: dict[str, Any], source: Path) -> Deadline:
    period = _period(data, "deadline", source)
    clock = str(_optional(data, "clock", str, "receipt", source))
    action = str(_optional(data, "action", str, "remove", source))
    if clock not in CLOCKS:
        raise ImproperlyConfigured(f"{source.name}: deadline.clock must be one of {sorted(CLOCKS)}")
    if action not in DEADLINE_ACTIONS:
        raise ImproperlyConfigured(f"{source.name}: deadline.action must be one of {sorted(DEADLINE_ACTIONS)}")
    description = str(_optional(data, "description", str, "", source))
    if not period and not description:
        raise ImproperlyConfigured(f"{source.name}: a deadline without a period must quote the law's words")
    extension = data.get("extension")
    return Deadline(
        hours=period.hours,
        days=period.days,
        months=period.months,
        starts=str(_require(data, "starts", str, source)),
        clock=clock,
        action=action,
        description=description,
        extension=_milestone(extension, "deadline.extension", source) if extension is not None else None,
        milestones=tuple(
            _milestone(m, "deadline.milestones", source) for m in _list(data, "milestones", source, required=False)
        ),
    )


def _form_fields(data: dict[str, Any], source: Path, element_ids: set[str]) -> tuple[FormField, ...]:
    fields = tuple(
        FormField(
            id=str(_require(f, "id", str, source)),
            label=str(_require(f, "label", str, source)),
            source=str(_require(f, "source", str, source)),
            required=bool(_optional(f, "required", bool, False, source)),
            help=str(_optional(f, "help", str, "", source)),
        )
        for f in _list(data, "form_fields", source, required=False)
    )
    if len({f.id for f in fields}) != len(fields):
        raise ImproperlyConfigured(f"{source.name}: form_fields ids must be unique")
    for f in fields:
        if f.source not in FORM_SOURCES:
            raise ImproperlyConfigured(f"{source.name}: form field {f.id!r} has unknown source {f.source!r}")
        # A required answer is a required element, so the checker refuses an empty one.
        if f.required and f.id not in element_ids:
            raise ImproperlyConfigured(f"{source.name}: required form field {f.id!r} must also be an element")
    return fields


def _offences(data: dict[str, Any], source: Path) -> tuple[NationalOffence, ...]:
    offences = tuple(
        NationalOffence(
            country=str(_require(o, "country", str, source)),
            country_name=str(_require(o, "country_name", str, source)),
            citation=str(_require(o, "citation", str, source)),
            ai_citation=str(_optional(o, "ai_citation", str, "", source)),
            verified=bool(_optional(o, "verified", bool, False, source)),
        )
        for o in _list(data, "national_offences", source, required=False)
    )
    countries = [o.country for o in offences]
    if len(set(countries)) != len(countries) or any(len(c) != 2 or not c.isupper() for c in countries):
        raise ImproperlyConfigured(f"{source.name}: national_offences need unique ISO 3166-1 alpha-2 countries")
    return offences


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
            source=str(_optional(e, "source", str, "statute", source)),
        )
        for e in _list(data, "elements", source)
    )
    if not elements or len({e.id for e in elements}) != len(elements):
        raise ImproperlyConfigured(f"{source.name}: elements must be non-empty with unique ids")
    if any(e.source not in ELEMENT_SOURCES for e in elements):
        raise ImproperlyConfigured(f"{source.name}: element source must be one of {sorted(ELEMENT_SOURCES)}")
    deadline_data = data.get("deadline")
    deadline = _deadline(deadline_data, source) if isinstance(deadline_data, dict) else None
    escalation_data = data.get("escalation")
    escalation = None
    if isinstance(escalation_data, dict):
        escalation = Escalation(
            route=str(_require(escalation_data, "route", str, source)),
            summary=str(_require(escalation_data, "summary", str, source)),
        )
    statements = tuple(
        Statement(
            id=str(_require(s, "id", str, source)),
            text=str(_require(s, "text", str, source)),
            kind=str(_optional(s, "kind", str, "", source)),
        )
        for s in _list(data, "statements", source, required=False)
    )
    if any(s.kind and s.kind not in STATEMENT_KINDS for s in statements):
        raise ImproperlyConfigured(f"{source.name}: statement kind must be one of {sorted(STATEMENT_KINDS)}")
    sender_fields = tuple(str(v) for v in _optional(data, "sender_fields", list, ["email_or_phone"], source))
    _subset(list(sender_fields), SENDER_FIELDS, "sender_fields", source)
    form_urls = _optional(data, "form_urls", dict, {}, source)
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
        statements=statements,
        elements=elements,
        escalation=escalation,
        covers_real=bool(_optional(data, "covers_real", bool, True, source)),
        requires=_subset(_list(data, "requires", source, required=False), REQUIREMENTS, "requires", source),
        sender_fields=sender_fields,
        recipient_name=str(_optional(data, "recipient_name", str, "", source)),
        recipient_url=str(_optional(data, "recipient_url", str, "", source)),
        form_urls=tuple((str(k), str(v)) for k, v in form_urls.items()),
        form_fields=_form_fields(data, source, {e.id for e in elements}),
        national_offences=_offences(data, source),
        notes=tuple(str(n) for n in _list(data, "notes", source, required=False)),
    )


@cache
def load_catalogue() -> dict[str, LegalBasis]:
    return {basis.id: basis for basis in (parse_basis(p) for p in sorted(BASES_DIR.glob("*.toml")))}


def get_basis(basis_id: str) -> LegalBasis:
    try:
        return load_catalogue()[basis_id]
    except KeyError as exc:
        raise KeyError(f"No legal basis {basis_id!r}") from exc
