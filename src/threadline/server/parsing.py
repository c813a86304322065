"""Parsing request bodies on both cores: a large batch is split between the event loop and a worker.

Decoding and validating an event is pure Python and holds the GIL, so one process parses on one core
however many threads it has. For a batch of at least ``PARALLEL_MIN`` events, half of it is sent to a
worker process while the event loop parses the other half. The worker returns events without their
decoded document (nothing downstream needs it: projections decode the stored bytes).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from threadline.errors import InvalidEvent
from threadline.openlineage.events import ParsedEvent, parse_event

#: Below this many events the hand-off to the worker costs more than it saves.
PARALLEL_MIN = 64

#: One parsed element: the event, or the (message, field) of why it was rejected.
Parsed = ParsedEvent | tuple[str, str]


def parse_many(elements: list[bytes]) -> list[Parsed]:
    """Parse each element; a rejected one becomes ``(message, field)``."""
    results: list[Parsed] = []
    for element in elements:
        try:
            event = parse_event(element)
        except InvalidEvent as exc:
            results.append((exc.message, exc.field))
            continue
        event.doc = {}  # not needed after parsing; keeps the worker's answer small
        results.append(event)
    return results


class BatchParser:
    """Parses batches, using one worker process beside the event loop when the machine has cores."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the worker processes (a fresh interpreter each: the server already runs threads)."""
        if self.workers > 0 and self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)

    def stop(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def parse(self, elements: list[bytes]) -> list[Parsed]:
        """Parse a batch; large ones are split between a worker and the event loop."""
        if self._pool is None or len(elements) < PARALLEL_MIN:
            return parse_many(elements)
        half = len(elements) // 2
        remote = asyncio.get_running_loop().run_in_executor(self._pool, parse_many, elements[:half])
        local = parse_many(elements[half:])
        return [*(await remote), *local]
