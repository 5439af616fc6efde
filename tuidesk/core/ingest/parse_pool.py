"""Parse mail on the second core while the first fetches and writes.

Parsing is the costliest step of ingest and needs nothing from the store, so a poll that brings
many messages hands each batch to a worker process (forkserver: safe from a threaded TUI) and
processes the previous batch meanwhile. A small poll parses inline: starting a worker costs
more than it saves.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from tuidesk.core.ingest.parse import ParsedMail, parse_mail

WORKER_THRESHOLD = 200  # messages in one poll before a worker process pays off


def parse_all(raws: Sequence[bytes]) -> list[ParsedMail]:
    return [parse_mail(raw) for raw in raws]


class Parser:
    def __init__(self, expected: int) -> None:
        self._pool: ProcessPoolExecutor | None = None
        if expected >= WORKER_THRESHOLD:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["tuidesk.core.ingest.parse"])
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)

    def submit(self, raws: Sequence[bytes]) -> Future[list[ParsedMail]]:
        if self._pool is not None:
            try:
                return self._pool.submit(parse_all, list(raws))
            except (BrokenProcessPool, RuntimeError):
                self._pool = None
        done: Future[list[ParsedMail]] = Future()
        done.set_result(parse_all(raws))
        return done

    @staticmethod
    def result(future: Future[list[ParsedMail]], raws: Sequence[bytes]) -> list[ParsedMail]:
        """The parsed batch; parsed inline if the worker died (it never loses a mail)."""
        try:
            return future.result()
        except BrokenProcessPool:
            return parse_all(raws)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
