"""Pausing Python's cycle collector while a bulk step builds many long-lived, acyclic objects.

Resolving 15,000 keys or staging a million records creates hundreds of thousands of dicts,
tuples and sets that live until the step ends. Each collection the allocations trigger walks
all of them again, for nothing: they hold no cycles, and reference counting frees them. Paused,
resolution runs about a fifth faster. Cycles made meanwhile wait for the next collection.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cycle collector off (left off if a caller had turned it off)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
