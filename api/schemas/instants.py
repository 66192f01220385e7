"""Instants in requests: RFC 3339 date-times with a zone, normalised to UTC; a naive one is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def _rfc3339_text(value: object) -> object:
    """Admit only RFC 3339 text with a zone (not dates, epoch numbers or naive date-times)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(
            f"must be an RFC 3339 date-time with a time zone, e.g. 2024-09-01T00:00:00Z; got {value!r}"
        )
    return value


def _in_utc(value: datetime) -> datetime:
    """The same instant in UTC, the form the registry records (refusing one outside the calendar)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant falls outside the years 1 to 9999 once in UTC") from None


Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_in_utc)]
"""An RFC 3339 instant with a time zone, normalised to UTC."""
