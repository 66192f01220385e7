"""The report's words for instants: day and moment, remembered or not, always in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from verification.report import day, moment

OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes)))
INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS | st.just(UTC)
)


@given(st.lists(INSTANTS, min_size=1, max_size=4))
def test_day_and_moment_are_the_utc_date_and_second_every_time(instants: list[datetime]) -> None:
    # Equal instants in other offsets share a remembered answer; it must be theirs too.
    for instant in [*instants, *instants, *(i.astimezone(timezone(timedelta(hours=5))) for i in instants)]:
        in_utc = instant.astimezone(UTC)
        assert day(instant) == in_utc.strftime("%Y-%m-%d")
        assert moment(instant) == in_utc.strftime("%Y-%m-%d %H:%M:%S UTC")


def test_naive_instants_are_formatted_afresh() -> None:
    naive = datetime(2024, 7, 1, 9, 0, 5)
    assert day(naive) == naive.astimezone(UTC).strftime("%Y-%m-%d")
    assert moment(naive) == naive.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
