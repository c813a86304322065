"""Parsing request bodies off the event loop: large batches go to worker processes.

Decoding and validating an event is pure Python and holds the GIL, so a process parses on one core
however many threads it has. A batch of at least ``PARALLEL_MIN`` events is parsed by worker processes
(split between them), which leaves the server's own process to HTTP and to the writer thread.

Each worker is a plain Python process running :func:`serve`, joined to the server by a socket pair. The
event loop writes a batch to an idle worker and awaits the answer on the same socket, so no thread of
the server's process is involved (an executor's helper threads would compete with the event loop and the
writer for the GIL). A worker answers with only what the log needs (id, kind, time, … and the compressed
bytes to store), not the bytes received: the server still holds those and pairs them with the answers by
position. A worker that dies is replaced, and its batch is parsed in the event loop instead, so a
request never fails for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Any

from threadline.collector import collect_less_often
from threadline.errors import InvalidEvent
from threadline.openlineage.events import ParsedEvent, parse_event, parse_with_document
from threadline.openlineage.limits import EventLimits, EventTooLarge
from threadline.projection.fold import fold_packed
from threadline.projection.model import Packed
from threadline.server.memory import LARGE_REQUEST_BYTES, release_memory
from threadline.store import codec

log = logging.getLogger(__name__)

#: Below this many events the hand-off to a worker costs more than it saves.
PARALLEL_MIN = 32
#: ... unless they are this large together: a few large events are parsed by a worker too, so the time
#: and the memory their parsing takes (a 14 MB event: over a second, and some 300 MB of objects) are a
#: worker's, not the event loop's and the server's.
PARALLEL_MIN_BYTES = 256 * 1024
_HEADER = struct.Struct("!Q")

#: One parsed element: the event, or the (message, field, HTTP status) of why it was rejected.
Parsed = ParsedEvent | tuple[str, str, int]


def parse_many(elements: list[bytes], limits: EventLimits | None = None) -> list[Parsed]:
    """Parse each element (refusing those over ``limits``); a rejected one becomes
    ``(message, field, status)``."""
    results: list[Parsed] = []
    for element in elements:
        try:
            results.append(parse_event(element, limits))
        except InvalidEvent as exc:
            results.append((exc.message, exc.field, exc.status))
    return results


def _parse_in_worker(
    elements: list[bytes], limits: EventLimits | None = None, fold: bool = False
) -> tuple[list[tuple[Any, ...]], Packed | None]:
    """:func:`parse_many` in a worker, with each event's bytes prepared for the log (compressed), and
    with ``fold`` the fold of the accepted events (``None`` if folding fails: the projector then
    reads them back from the log, and says why).

    Each event comes back as a tuple of its fields and its stored form, without the bytes received
    (the server has those already).
    """
    answers: list[tuple[Any, ...]] = []
    accepted: list[ParsedEvent] = []
    documents: list[Any] = []
    for element in elements:
        try:
            parsed, document = parse_with_document(element, limits)
        except InvalidEvent as exc:
            answers.append((exc.message, exc.field, exc.status))
            continue
        if fold:
            accepted.append(parsed)
            documents.append(document)
        event_codec, payload = codec.encode(parsed.raw)
        answers.append(
            (
                parsed.id,
                parsed.kind,
                parsed.event_time,
                parsed.producer,
                parsed.event_type,
                parsed.run_id,
                parsed.job_namespace,
                parsed.job_name,
                parsed.schema_url,
                parsed.problems,
                payload,
                event_codec,
            )
        )
    packed = None
    if fold:
        try:
            packed = fold_packed(accepted, documents)
        except Exception:
            log.exception("folding a batch in a parse worker failed")
    return answers, packed


def _from_worker(answer: tuple[Any, ...], raw: bytes) -> Parsed:
    if len(answer) == 3:
        return answer  # (message, field, status)
    event_id, kind, event_time, producer, event_type, run_id, namespace, name, schema_url = answer[:9]
    return ParsedEvent(
        id=event_id,
        raw=raw,
        kind=kind,
        event_time=event_time,
        producer=producer,
        event_type=event_type,
        run_id=run_id,
        job_namespace=namespace,
        job_name=name,
        schema_url=schema_url,
        problems=answer[9],
        payload=answer[10],
        codec=answer[11],
    )


# ---- the worker side -------------------------------------------------------------------------------


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _exit_with_parent(parent: int) -> None:
    """End this worker when the server that started it is gone (even if it was killed with SIGKILL)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def serve(fd: int, parent: int) -> None:
    """A worker's life: read a batch from the socket ``fd``, answer it, until the server hangs up."""
    collect_less_often(freeze=True)  # parsing makes many containers that live a moment
    threading.Thread(target=_exit_with_parent, args=(parent,), name="watch-parent", daemon=True).start()
    sock = socket.socket(fileno=fd)
    while True:
        header = _read_exactly(sock, _HEADER.size)
        if header is None:
            return
        body = _read_exactly(sock, _HEADER.unpack(header)[0])
        if body is None:
            return
        elements, limits, fold = pickle.loads(body)
        answer = pickle.dumps(_parse_in_worker(elements, limits, fold), protocol=pickle.HIGHEST_PROTOCOL)
        large = len(body) >= LARGE_REQUEST_BYTES
        del elements, body
        sock.sendall(_HEADER.pack(len(answer)) + answer)
        if large:  # after answering: the server does not wait for it
            release_memory()


# ---- the server side -------------------------------------------------------------------------------


class _Worker:
    """One worker process and the server's end of its socket."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        # Ctrl+C is the server's to handle: the worker ignores SIGINT from its first line, and runs in
        # a process group of its own so that a terminal's Ctrl+C (sent to the foreground group) does
        # not reach it at all. The server stops it (``close``), or it ends when the server is gone.
        start = (
            "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            f"from threadline.server.parsing import serve; serve({theirs.fileno()}, {os.getpid()})"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", start],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            process_group=0,
        )
        theirs.close()
        self.sock = ours
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_unix_connection(sock=self.sock)

    async def ask(
        self, elements: list[bytes], limits: EventLimits | None, fold: bool
    ) -> tuple[list[tuple[Any, ...]], Packed | None]:
        assert self.reader is not None
        assert self.writer is not None
        body = pickle.dumps((elements, limits, fold), protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(_HEADER.pack(len(body)) + body)
        await self.writer.drain()
        (size,) = _HEADER.unpack(await self.reader.readexactly(_HEADER.size))
        return pickle.loads(await self.reader.readexactly(size))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        else:
            self.sock.close()
        with contextlib.suppress(OSError):
            self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


class BatchParser:
    """Parses batches: small ones in the event loop, large ones in worker processes."""

    def __init__(self, workers: int, limits: EventLimits | None = None) -> None:
        self.workers = workers
        #: What one event may hold (none: no limits).
        self.limits = limits
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: list[_Worker] = []

    async def start(self) -> None:
        """Start the worker processes."""
        if self.workers <= 0 or self._idle is not None:
            return
        self._idle = asyncio.Queue()
        for _ in range(self.workers):
            await self._add_worker()

    async def _add_worker(self) -> None:
        assert self._idle is not None
        worker = _Worker()
        await worker.connect()
        self._all.append(worker)
        self._idle.put_nowait(worker)

    def stop(self) -> None:
        """Stop the worker processes."""
        for worker in self._all:
            worker.close()
        self._all.clear()
        self._idle = None

    async def parse(self, elements: list[bytes]) -> list[Parsed]:
        """Parse a batch, in order; large ones (many events, or many bytes) go to the workers."""
        return (await self._parse(elements, fold=False))[0]

    async def parse_and_fold(self, elements: list[bytes]) -> tuple[list[Parsed], Packed | None]:
        """:meth:`parse`, and the fold of the accepted events when the workers parsed the batch
        (``None`` otherwise: the writer folds them)."""
        return await self._parse(elements, fold=True)

    async def _parse(self, elements: list[bytes], *, fold: bool) -> tuple[list[Parsed], Packed | None]:
        if self._idle is None or (
            len(elements) < PARALLEL_MIN and sum(map(len, elements)) < PARALLEL_MIN_BYTES
        ):
            return parse_many(elements, self.limits), None
        size = max(PARALLEL_MIN, -(-len(elements) // self.workers))  # a few large events: one worker
        chunks = [elements[start : start + size] for start in range(0, len(elements), size)]
        answers = await asyncio.gather(*(self._parse_chunk(chunk, fold) for chunk in chunks))
        parsed = [one for chunk_answers, _ in answers for one in chunk_answers]
        packed: Packed | None = None
        for _, part in answers:
            if part is None:
                return parsed, None  # a chunk not folded: the writer folds the whole batch
            if packed is None:
                packed = part
            else:
                packed.merge(part)
        return parsed, packed

    async def parse_one(self, body: bytes) -> ParsedEvent:
        """One event (a single POST): in the event loop when small, by a worker when large (at least
        ``PARALLEL_MIN_BYTES``); raises :class:`InvalidEvent` (:class:`EventTooLarge`) when rejected."""
        if self._idle is None or len(body) < PARALLEL_MIN_BYTES:
            return parse_event(body, self.limits)
        parsed = (await self._parse_chunk([body], False))[0][0]
        if isinstance(parsed, tuple):
            message, field, status = parsed
            raise (EventTooLarge if status == EventTooLarge.status else InvalidEvent)(message, field)
        return parsed

    async def _parse_chunk(self, chunk: list[bytes], fold: bool) -> tuple[list[Parsed], Packed | None]:
        assert self._idle is not None
        idle = self._idle
        worker = await idle.get()
        try:
            answers, packed = await worker.ask(chunk, self.limits, fold)
        except (OSError, EOFError, asyncio.IncompleteReadError, pickle.UnpicklingError) as exc:
            log.warning("a parse worker failed (%s); starting another, parsing this batch here", exc)
            worker.close()
            self._all.remove(worker)
            if self._idle is idle:
                await self._add_worker()
            return parse_many(chunk, self.limits), None
        except BaseException:
            # Cancelled mid-answer (the client went away): the socket may hold half an answer.
            worker.close()
            self._all.remove(worker)
            if self._idle is idle:
                await self._add_worker()
            raise
        idle.put_nowait(worker)
        return [_from_worker(answer, raw) for answer, raw in zip(answers, chunk, strict=True)], packed
