"""Asking MusicBrainz for one import: stored answers first, then 100 MBIDs a request, then one
lookup for each MBID a batch did not answer; and no more asking once it cannot be reached.

MusicBrainz allows one request a second, so an export full of MBIDs costs what its requests
cost. :meth:`MusicBrainzAsker.fetch` takes every question an import will ask and answers it
the cheapest way that gives the rules the same answer a lookup would:

1. the answer store (``koito_import.musicbrainz_answers``), read in one query;
2. a search by id list per kind, 100 MBIDs a request (:meth:`HttpMusicBrainz.search`);
3. one lookup per MBID the search did not answer (merged into another entity, or not in the
   search index yet: a lookup follows the merge, a search does not), or for every MBID of a
   search that failed (busy, malformed): a failing search never fails the import, and after
   two failures in a row the rest is asked by lookup straight away.

Every answer, and every "no such entity", is stored as it arrives, so a killed import asks
nothing twice. When MusicBrainz cannot be reached at all (connection refused, DNS failure, two
timeouts in a row) the asker says so once and asks nothing more: every question left fails at
once, and the rules resolve as Koito does when MusicBrainz is unreachable. Those answers are not
stored, so a later import asks them again.

The asker is itself a :class:`MusicBrainz` for the rules: what ``fetch`` answered comes from
memory, anything else (a question no plan foresaw) is looked up, stored and remembered. It is
safe to use from several threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Any

from koito_assets.enrich.musicbrainz import (
    ARTIST,
    PAGE_SIZE,
    RECORDING,
    RELEASE,
    RELEASE_GROUP,
    Answer,
    BulkMusicBrainz,
    DisabledMusicBrainz,
    MbArtist,
    MbRecording,
    MbRelease,
    MusicBrainz,
    MusicBrainzError,
    MusicBrainzNotFound,
    MusicBrainzUnreachable,
    ask_one,
)
from koito_assets.enrich.musicbrainz_store import AnswerStore, Question

log = logging.getLogger(__name__)

TIMEOUTS_IN_A_ROW = 2  # requests that each timed out (after their retry) mean "unreachable"
SEARCH_FAILURES_IN_A_ROW = 2  # failed searches after which the rest is asked by lookup

Progress = Callable[[int, int], None]  # (requests done, requests planned)
Task = Callable[[], list[Question]]  # one request's work; returns the questions left to lookups


@dataclass
class AskStats:
    """What asking cost: requests sent, answers the store had, lookups, seconds waited."""

    requests: int = 0
    from_store: int = 0
    lookups: int = 0  # one-MBID lookups: what a search did not answer, or every question
    searches_failed: int = 0
    seconds: float = 0.0
    unreachable: str = ""  # why MusicBrainz was given up for this import, if it was


class MusicBrainzAsker:
    """A :class:`MusicBrainz` that answers from memory, the store, batches and lookups."""

    def __init__(
        self,
        client: MusicBrainz,
        store: AnswerStore | None = None,
        *,
        workers: int = 4,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.enabled = not isinstance(client, DisabledMusicBrainz)
        self.store = store if self.enabled else None
        self.workers = max(1, workers)
        self.progress = progress
        self.stats = AskStats()
        self._answers: dict[Question, Answer | MusicBrainzError] = {}
        self._lock = threading.Lock()
        self._searching = isinstance(client, BulkMusicBrainz)
        self._planned = 0
        self._sent_before = self._client_sent()
        self._sent_here = 0  # for clients that do not count their own requests
        self._timeouts = 0
        self._search_failures = 0
        self._pruned = False

    # -- what the rules call ---------------------------------------------------------------
    def artist(self, mbid: str) -> MbArtist:
        return self._ask(ARTIST, mbid)  # type: ignore[return-value]

    def release(self, mbid: str) -> MbRelease:
        return self._ask(RELEASE, mbid)  # type: ignore[return-value]

    def release_group_titles(self, mbid: str) -> tuple[str, ...]:
        return self._ask(RELEASE_GROUP, mbid)  # type: ignore[return-value]

    def recording(self, mbid: str) -> MbRecording:
        return self._ask(RECORDING, mbid)  # type: ignore[return-value]

    def known(self, kind: str, mbid: str) -> Answer | None:
        """An answer already in memory (None if never asked or failed), for planning."""
        answer = self._answers.get((kind, mbid))
        return None if isinstance(answer, MusicBrainzError) else answer

    @property
    def requests(self) -> int:
        return self.stats.requests

    def _ask(self, kind: str, mbid: str) -> Answer:
        question = (kind, mbid)
        answer = self._answers.get(question)
        if answer is None:
            if not self.enabled:
                try:
                    answer = ask_one(self.client, kind, mbid)  # the disabled client's own error
                except MusicBrainzError as exc:
                    answer = exc
                self._remember({question: answer})
            else:
                self.fetch([question], search=False)
                answer = self._answers[question]
        if isinstance(answer, MusicBrainzError):
            raise answer
        return answer

    # -- asking many ---------------------------------------------------------------------------
    def fetch(self, questions: Iterable[Question], *, search: bool = True) -> None:
        """Answer every question (kind, MBID) not answered yet: store, searches, lookups."""
        if not self.enabled:
            return
        started = time.perf_counter()
        todo = [q for q in dict.fromkeys(questions) if q not in self._answers]
        if todo and self.store is not None:
            if not self._pruned:
                self._pruned = True
                self.store.prune()  # expired answers would only be skipped by every read
            stored = self.store.read(todo)
            self._remember(
                {
                    q: MusicBrainzNotFound(f"MusicBrainz {q[0]} {q[1]}: not found (stored)")
                    if answer is None
                    else answer
                    for q, answer in stored.items()
                }
            )
            with self._lock:
                self.stats.from_store += len(stored)
            todo = [q for q in todo if q not in stored]
        if todo:
            self._ask_network(todo, search=search and self._searching)
        with self._lock:
            self.stats.seconds += time.perf_counter() - started

    def _ask_network(self, questions: Sequence[Question], *, search: bool) -> None:
        tasks: list[Task] = []
        if search:
            by_kind: dict[str, list[str]] = {}
            for kind, mbid in questions:
                by_kind.setdefault(kind, []).append(mbid)
            for kind, mbids in by_kind.items():
                for start in range(0, len(mbids), PAGE_SIZE):
                    tasks.append(partial(self._search, kind, mbids[start : start + PAGE_SIZE]))
        else:
            tasks = [partial(self._lookup, q) for q in questions]
        self._plan(len(tasks))
        # The first request goes alone: if MusicBrainz cannot be reached, it is the only one.
        queue = deque(tasks)
        queue.extend(self._lookups(queue.popleft()()))
        if self.workers == 1 or len(queue) <= 1:
            while queue:
                queue.extend(self._lookups(queue.popleft()()))
            return
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="musicbrainz")
        try:
            pending: set[Future[list[Question]]] = {pool.submit(task) for task in queue}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    pending.update(pool.submit(t) for t in self._lookups(future.result()))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # an error stops the asking

    def _lookups(self, leftovers: list[Question]) -> list[Task]:
        """Lookup tasks for what a search left, added to the plan."""
        self._plan(len(leftovers))
        return [partial(self._lookup, q) for q in leftovers]

    def _search(self, kind: str, mbids: list[str]) -> list[Question]:
        """One batch; returns the questions it leaves to lookups."""
        questions = [(kind, mbid) for mbid in mbids]
        if self._gave_up(questions):
            return []
        if not self._searching:
            return questions  # search was given up meanwhile
        try:
            answers = self.client.search(kind, mbids)  # type: ignore[attr-defined]
        except MusicBrainzUnreachable as exc:
            self._sent(1)
            self._network_failure(exc)
            return [] if self._gave_up(questions) else questions
        except MusicBrainzError as exc:
            self._sent(1)
            self._heard_from_server()
            self._search_failed(exc)
            return questions
        self._heard_from_server()
        with self._lock:
            self._search_failures = 0
        found = {(kind, mbid): answer for mbid, answer in answers.items()}
        self._remember(found)
        if self.store is not None:
            self.store.write(found)  # kept at once: a killed import asks nothing twice
        self._sent(1)
        return [q for q in questions if q not in found]

    def _lookup(self, question: Question) -> list[Question]:
        """One lookup; its answer (or 404) is remembered and stored, a failure only remembered."""
        if self._gave_up([question]):
            return []
        kind, mbid = question
        answer: Answer | MusicBrainzError
        try:
            answer = ask_one(self.client, kind, mbid)
        except MusicBrainzUnreachable as exc:
            answer = exc
            self._network_failure(exc)
        except MusicBrainzError as exc:
            answer = exc
            self._heard_from_server()
        else:
            self._heard_from_server()
        self._remember({question: answer})
        if self.store is not None:
            if isinstance(answer, MusicBrainzNotFound):
                self.store.write({}, [question])
            elif not isinstance(answer, MusicBrainzError):
                self.store.write({question: answer})
        self._sent(1, lookup=True)
        return []

    # -- bookkeeping ---------------------------------------------------------------------------
    def _remember(self, answers: dict[Question, Any]) -> None:
        with self._lock:
            self._answers.update(answers)

    def _client_sent(self) -> int | None:
        sent = getattr(self.client, "requests_sent", None)
        return sent if isinstance(sent, int) else None

    def _sent(self, count: int, *, lookup: bool = False) -> None:
        with self._lock:
            self._sent_here += count
            if lookup:
                self.stats.lookups += 1
            now = self._client_sent()
            if now is not None and self._sent_before is not None:
                self.stats.requests = now - self._sent_before
            else:
                self.stats.requests = self._sent_here
            done, planned = self.stats.requests, max(self._planned, self.stats.requests)
        if self.progress is not None:
            self.progress(done, planned)

    def _plan(self, count: int) -> None:
        with self._lock:
            self._planned += count

    def _heard_from_server(self) -> None:
        with self._lock:
            self._timeouts = 0

    def _network_failure(self, exc: MusicBrainzUnreachable) -> None:
        with self._lock:
            if exc.network == "timeout":
                self._timeouts += 1
                if self._timeouts < TIMEOUTS_IN_A_ROW:
                    return
            first = not self.stats.unreachable
            if first:
                self.stats.unreachable = str(exc)
        if first:
            where = getattr(self.client, "base_url", None) or "MusicBrainz"
            log.warning(
                "MusicBrainz (%s) cannot be reached (%s): not asking it again during this "
                "import; what it would have answered is resolved as Koito does without it, "
                "and asked again by a later import",
                where,
                exc,
            )

    def _search_failed(self, exc: MusicBrainzError) -> None:
        with self._lock:
            self.stats.searches_failed += 1
            self._search_failures += 1
            give_up = self._search_failures >= SEARCH_FAILURES_IN_A_ROW and self._searching
            if give_up:
                self._searching = False
        if give_up:
            log.warning("MusicBrainz search keeps failing (%s): asking one MBID at a time", exc)
        else:
            log.info("MusicBrainz search failed (%s): asking its MBIDs one at a time", exc)

    def _gave_up(self, questions: Sequence[Question]) -> bool:
        """True (and each question failed) when MusicBrainz was found unreachable."""
        reason = self.stats.unreachable
        if not reason:
            return False
        error = MusicBrainzUnreachable(f"MusicBrainz not asked: {reason}", "connect")
        self._remember(dict.fromkeys(questions, error))
        return True
