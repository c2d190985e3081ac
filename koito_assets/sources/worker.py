"""A parse worker: ``python -m koito_assets.sources.worker``, started by :mod:`.parallel`.

Reads (function, args) tasks from stdin; runs each function, a generator, and writes its parts to
stdout as they come, then an end mark (or the failure), task after task until stdin closes. A
thread drains stdin, so the parent can always hand over the next task; another writes answers
from a bounded queue, so this process works ahead of the parent by at most ~32 MB.
"""

from __future__ import annotations

import gc
import pickle
import queue
import sys
import threading
import traceback
from typing import IO, Any

from koito_assets.sources.parallel import END, FAILED, PART, receive, write_message

BUFFERED_ANSWERS = 96  # parts of ~350 KB waiting for the parent


def _read_tasks(stream: IO[bytes], tasks: queue.SimpleQueue[Any]) -> None:
    try:
        while True:
            tasks.put(receive(stream))
    except EOFError:
        pass
    finally:
        tasks.put(None)


def _write_answers(stream: IO[bytes], answers: queue.Queue[bytes | None]) -> None:
    while (data := answers.get()) is not None:
        write_message(stream, data)


def main() -> None:
    tasks: queue.SimpleQueue[Any] = queue.SimpleQueue()
    answers: queue.Queue[bytes | None] = queue.Queue(BUFFERED_ANSWERS)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but answers may reach the parent's pipe
    threading.Thread(target=_read_tasks, args=(sys.stdin.buffer, tasks), daemon=True).start()
    writer = threading.Thread(target=_write_answers, args=(out, answers))
    writer.start()

    def answer(kind: str, value: Any) -> None:
        answers.put(pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL))

    # A task builds thousands of acyclic records at a time, which only make the collector scan
    # (a tenth of the time): collect the youngest generation between tasks instead. (A full
    # collection would walk every module's objects again, 10 ms a task.)
    gc.disable()
    while (task := tasks.get()) is not None:
        function, args = task
        try:
            for part in function(*args):
                answer(PART, part)
        except Exception:
            answer(FAILED, traceback.format_exc())
        else:
            answer(END, None)
        gc.collect(0)
    answers.put(None)
    writer.join()


if __name__ == "__main__":
    main()
