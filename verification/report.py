"""The verifier's report: one named check per step, each pass, fail or not-checked, in plain words."""

from __future__ import annotations

import base64
import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from typing import Literal

from verification.checkpoint import Checkpoint

Outcome = Literal["pass", "fail", "not-checked"]

CHECK_NAMES = (
    "bundle-format",
    "checkpoint-signature",
    "proof-signature",
    "key-bound-to-issuer",
    "key-valid-at-issue",
    "key-not-compromised",
    "issuer-accredited",
    "commitment-matches-entry",
    "inclusion-in-checkpoint",
    "registry-in-log",
    "consistency-with-last-seen",
    "status",
)
"""Every check of a bundle, in the order a report lists them."""

_MARKS = {"pass": "\u2713", "fail": "\u2717", "not-checked": "\u2013"}
_DO_NOT_RELY = ": do not rely on "


@dataclass(frozen=True)
class Check:
    """One step of a verification: its name, its outcome and a sentence anyone can read."""

    name: str
    outcome: Outcome
    sentence: str


def passed(name: str, sentence: str) -> Check:
    """A check that passed."""
    return Check(name, "pass", sentence)


def failed(name: str, sentence: str) -> Check:
    """A check that failed."""
    return Check(name, "fail", sentence)


def not_checked(name: str, sentence: str) -> Check:
    """A check that could not be made."""
    return Check(name, "not-checked", sentence)


@dataclass(frozen=True)
class Report:
    """The outcome of verifying a bundle: every check, a verdict, and the checkpoint relied on."""

    checks: tuple[Check, ...]
    ok: bool
    """True only when no check failed and every required check passed."""
    verdict: str
    checkpoint: Checkpoint | None
    notes: tuple[str, ...] = ()
    """Facts worth knowing that are not failures (expired, key compromised later)."""

    @classmethod
    def decide(
        cls,
        checks: Sequence[Check],
        optional: Collection[str],
        headline: str,
        checkpoint: Checkpoint | None,
        notes: Sequence[str] = (),
    ) -> Report:
        """Judge the checks: `headline` is the verdict when all is well; `optional` may be not-checked."""
        failures: list[Check] = []
        missing: list[Check] = []
        for check in checks:
            if check.outcome == "fail":
                failures.append(check)
            elif check.outcome == "not-checked" and check.name not in optional:
                missing.append(check)
        if failures:
            reasons = " ".join(_plain(check.sentence) for check in failures)
            verdict = f"Do not rely on this credential. {reasons}"
        elif missing:
            verdict = f"This credential could not be fully verified. {missing[0].sentence}"
        else:
            verdict = " ".join([headline, *notes])
        ok = not failures and not missing
        return cls(tuple(checks), ok, verdict, checkpoint, tuple(notes))

    def check(self, name: str) -> Check:
        """The check called `name`."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    @property
    def failed(self) -> tuple[str, ...]:
        """The names of the checks that failed, in order."""
        return tuple(check.name for check in self.checks if check.outcome == "fail")

    def to_json(self) -> dict[str, object]:
        """The report as a JSON object."""
        checkpoint = None
        if self.checkpoint is not None:
            checkpoint = {
                "origin": self.checkpoint.origin,
                "size": self.checkpoint.size,
                "root": base64.b64encode(self.checkpoint.root).decode("ascii"),
            }
        return {
            "ok": self.ok,
            "verdict": self.verdict,
            "checks": [
                {"name": check.name, "outcome": check.outcome, "sentence": check.sentence}
                for check in self.checks
            ],
            "notes": list(self.notes),
            "checkpoint": checkpoint,
        }

    def to_text(self) -> str:
        """The report as lines for a terminal: the verdict, then one marked line per check."""
        lines = [self.verdict, ""]
        width = max(len(check.name) for check in self.checks) if self.checks else 0
        for check in self.checks:
            lines.append(f"  {_MARKS[check.outcome]} {check.name.ljust(width)}  {check.sentence}")
        if self.checkpoint is not None:
            lines += ["", f"Checkpoint: {self.checkpoint.origin}, {self.checkpoint.size} entries."]
        return "\n".join(lines) + "\n"


def _plain(sentence: str) -> str:
    """A failure sentence without its closing warning, which the verdict already gives."""
    reason, warned, _ = sentence.rpartition(_DO_NOT_RELY)
    return f"{reason}." if warned else sentence


def day(instant: datetime) -> str:
    """An instant's UTC date, as 2024-07-01."""
    return _in_utc(instant, "%Y-%m-%d")


def moment(instant: datetime) -> str:
    """An instant in UTC to the second, as 2024-07-01 09:00:05 UTC."""
    return _in_utc(instant, "%Y-%m-%d %H:%M:%S UTC")


def _in_utc(instant: datetime, form: str) -> str:
    # A report names the same few instants several times (validFrom in three sentences). Equal
    # datetimes with fixed offsets are the same instant, so the same UTC text; others (naive,
    # or zones where equal wall times can be different instants) are formatted afresh.
    if type(instant) is datetime and type(instant.tzinfo) is timezone:
        return _remembered_utc(instant, form)
    return _format_utc(instant, form)


def _format_utc(instant: datetime, form: str) -> str:
    return instant.astimezone(UTC).strftime(form)


_remembered_utc = functools.lru_cache(maxsize=64)(_format_utc)
