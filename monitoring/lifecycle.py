"""The lifecycle of a reported URL: an explicit state machine, every move on the timeline.

    reported ──> notice_sent ──> acknowledged ──> removed
                     │               │               │
                     ├───────────────┴─> still_up ───┤   (past the deadline)
                     │                      │        │
                     └──> refused <─────────┘        │   (the platform said no)
                             │                       │
                             └──────> escalated ─────┘
    removed ──> reappeared ──> notice_sent …

Every state but `removed` can become `removed` (a 404 can come at any time,
before any notice too); `escalated` can lead to a second notice.

`transition()` is the only writer of `ReportedURL.status`: it refuses a move
the table does not allow, and records an "url.status_changed" event with the
old and new states, a reason from a fixed list (free text could carry
personal data, which events never hold), and who made it (a person, or the
system for moves driven by checks). `apply_check()` derives the automatic
moves from a new check.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

from cases.errors import CaseError
from cases.models import ReportedURL, URLStatus
from cases.services import AnyUser, record_event, require_write, touch

from .models import Match, Outcome, URLCheck

S = URLStatus

TRANSITIONS: dict[URLStatus, frozenset[URLStatus]] = {
    S.REPORTED: frozenset({S.NOTICE_SENT, S.REMOVED}),
    S.NOTICE_SENT: frozenset({S.ACKNOWLEDGED, S.STILL_UP, S.REFUSED, S.REMOVED}),
    S.ACKNOWLEDGED: frozenset({S.STILL_UP, S.REFUSED, S.REMOVED}),
    S.STILL_UP: frozenset({S.ESCALATED, S.REFUSED, S.REMOVED}),
    S.REFUSED: frozenset({S.ESCALATED, S.REMOVED}),
    S.ESCALATED: frozenset({S.NOTICE_SENT, S.REMOVED}),
    S.REMOVED: frozenset({S.REAPPEARED}),
    S.REAPPEARED: frozenset({S.NOTICE_SENT, S.REMOVED}),
}


class Reason(StrEnum):
    """Why a URL changed state: a code, never free text (events hold no personal data)."""

    NOTICE_SENT = "notice_sent"  # a notice covering the URL went out
    PLATFORM_ACKNOWLEDGED = "platform_acknowledged"  # the platform confirmed it received the notice
    PLATFORM_REFUSED = "platform_refused"  # the platform declined to remove it
    PLATFORM_REMOVED = "platform_removed"  # the platform said it removed it
    CONFIRMED_REMOVED = "confirmed_removed"  # a person looked and it is gone
    DEADLINE_PASSED = "deadline_passed"  # still there after the notice's deadline
    ESCALATED = "escalated"  # regulator complaint, second notice, delisting request
    SEEN_AGAIN = "seen_again"  # a person saw it back up
    CHECK_GONE = "check_gone"  # a check got 404 or 410
    CHECK_MEDIA_GONE = "check_media_gone"  # the page is there, the matched media no longer is
    CHECK_REAPPEARED = "check_reappeared"  # a check matched the media at a removed URL


# The reasons each destination accepts, so the timeline cannot say
# "escalated because the platform removed it".
REASONS: dict[URLStatus, frozenset[Reason]] = {
    S.NOTICE_SENT: frozenset({Reason.NOTICE_SENT}),
    S.ACKNOWLEDGED: frozenset({Reason.PLATFORM_ACKNOWLEDGED}),
    S.STILL_UP: frozenset({Reason.DEADLINE_PASSED}),
    S.REFUSED: frozenset({Reason.PLATFORM_REFUSED}),
    S.ESCALATED: frozenset({Reason.ESCALATED}),
    S.REMOVED: frozenset(
        {Reason.PLATFORM_REMOVED, Reason.CONFIRMED_REMOVED, Reason.CHECK_GONE, Reason.CHECK_MEDIA_GONE}
    ),
    S.REAPPEARED: frozenset({Reason.SEEN_AGAIN, Reason.CHECK_REAPPEARED}),
}

# Only a check can claim what a check saw; a person states what they saw or were told.
CHECK_REASONS = frozenset({Reason.CHECK_GONE, Reason.CHECK_MEDIA_GONE, Reason.CHECK_REAPPEARED})


class IllegalTransition(CaseError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="illegal_transition")


def allowed_transitions(status: str) -> frozenset[URLStatus]:
    """Where a URL in `status` may go next (what a page offers as buttons)."""
    return TRANSITIONS.get(URLStatus(status), frozenset())


def transition(
    reported_url: ReportedURL,
    to_state: str,
    *,
    actor: AnyUser | None,
    reason: str,
    check: URLCheck | None = None,
    occurred_at: datetime | None = None,
) -> ReportedURL:
    """Move a reported URL to `to_state`, or raise IllegalTransition; record "url.status_changed".

    1. `actor` None is the system (a check, a schedule); a person must be
       able to write to the case.
    2. Check the reason: known, accepted by the destination, and a check's
       own reasons only with the check that saw it (a check may also give a
       shared reason, such as "deadline_passed").
    3. Lock the row and check the move against its current state, not the
       caller's copy: a check and a person may act on the same URL at once.
    4. Save the state and when it changed; append the event with from, to,
       reason, the check's id and, for a person reporting something that
       happened earlier (the platform's email of Monday), when it happened.

    `reported_url` is updated in place too, so the caller's copy is current.
    """
    to = _status(to_state)
    if not any(to in targets for targets in TRANSITIONS.values()):
        raise IllegalTransition(f"No URL can be moved back to “{to.label}”.")
    if actor is not None:
        require_write(actor, reported_url.case)
    why = _reason(reason, to, check)
    if occurred_at is not None and occurred_at > timezone.now():
        raise CaseError("That date is in the future.", code="future_date")
    with transaction.atomic():
        locked = ReportedURL.objects.select_for_update().select_related("case").get(pk=reported_url.pk)
        current = URLStatus(locked.status)
        if to not in TRANSITIONS[current]:
            raise IllegalTransition(f"A URL that is “{current.label}” cannot become “{to.label}”.")
        locked.status = to
        locked.status_changed_at = timezone.now()
        locked.save(update_fields=["status", "status_changed_at"])
        touch(locked.case)
        data: dict[str, Any] = {"url_id": locked.pk, "from": str(current), "to": str(to), "reason": str(why)}
        if check is not None:
            data["check_id"] = check.pk
        if occurred_at is not None:
            data["occurred_at"] = occurred_at.isoformat()
        record_event(locked.case, "url.status_changed", actor=actor, **data)
    reported_url.status, reported_url.status_changed_at = locked.status, locked.status_changed_at
    return locked


def _status(value: str) -> URLStatus:
    try:
        return URLStatus(value)
    except ValueError as exc:
        raise CaseError(f"Unknown URL status {value!r}.", code="unknown_status") from exc


def _reason(value: str, to: URLStatus, check: URLCheck | None) -> Reason:
    try:
        reason = Reason(value)
    except ValueError as exc:
        raise CaseError(f"Unknown reason {value!r}.", code="unknown_reason") from exc
    if reason not in REASONS.get(to, frozenset()):
        raise CaseError(f"“{reason}” is not a reason for “{to.label}”.", code="reason_mismatch")
    if reason in CHECK_REASONS and check is None:
        raise CaseError("Only a check can record what a check saw.", code="reason_needs_check")
    return reason


# --- Moves driven by checks ------------------------------------------------------


def automatic_move(
    status: str, check: URLCheck, *, matched_before: bool, deadline_passed: bool
) -> tuple[URLStatus, Reason] | None:
    """The move a new check calls for, if any. Pure: the caller supplies the history it needs.

    - Gone (404/410): removed, from any state but removed.
    - Reachable, and the media matched before is conclusively not found now
      (every candidate examined, see `media.examine`): removed.
    - Reachable with a match at a removed URL: reappeared.
    - Reachable with a match (or, for a case without hashes, reachable at
      all) after a sent notice's deadline: still up.

    Errors, refusals, reviews and inconclusive results move nothing: a false
    "removed" could make someone stop pursuing content that is still up.
    """
    current = URLStatus(status)
    if check.outcome == Outcome.GONE:
        return (S.REMOVED, Reason.CHECK_GONE) if current != S.REMOVED else None
    if check.outcome != Outcome.REACHABLE:
        return None
    if check.match == Match.MATCHED and current == S.REMOVED:
        return S.REAPPEARED, Reason.CHECK_REAPPEARED
    if check.match == Match.NOT_FOUND and matched_before and current != S.REMOVED:
        return S.REMOVED, Reason.CHECK_MEDIA_GONE
    if (
        check.match in (Match.MATCHED, Match.NO_HASHES)
        and current in (S.NOTICE_SENT, S.ACKNOWLEDGED)
        and deadline_passed
    ):
        return S.STILL_UP, Reason.DEADLINE_PASSED
    return None


def apply_check(reported_url: ReportedURL, check: URLCheck) -> ReportedURL | None:
    """Make the move a new check calls for; the URL, moved, or None if nothing changed.

    Runs inside the check's transaction with the URL row locked, so the
    check and its consequence are written together or not at all. Safe to
    repeat: a second identical check finds the state already moved.
    """
    matched_before = reported_url.checks.filter(match=Match.MATCHED).exclude(pk=check.pk).exists()
    deadline_passed = reported_url.notices.filter(
        sent_at__isnull=False, deadline_at__isnull=False, deadline_at__lte=check.checked_at
    ).exists()
    move = automatic_move(reported_url.status, check, matched_before=matched_before, deadline_passed=deadline_passed)
    if move is None:
        return None
    to, reason = move
    return transition(reported_url, to, actor=None, reason=reason, check=check)
