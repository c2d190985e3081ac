"""``--since`` / ``--until`` values: ISO 8601 dates or times, read as UTC unless they say."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, date, datetime, time


def time_bound(end_of_day: bool) -> Callable[[str], datetime]:
    """An argparse type: an ISO 8601 date or time, UTC unless it says otherwise. A bare date is
    the start of that day, or with ``end_of_day`` its last second (so ``--until 2024-01-31``
    includes the 31st)."""

    def parse(text: str) -> datetime:
        try:
            try:  # a date alone, in either ISO form (2024-01-31, 20240131)
                day = date.fromisoformat(text)
            except ValueError:
                moment = datetime.fromisoformat(text)
            else:
                moment = datetime.combine(day, time(23, 59, 59, 999_999) if end_of_day else time())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not an ISO 8601 date or time (2024-01-31, 2024-01-31T18:00:00Z)"
            ) from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    return parse
