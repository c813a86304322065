"""A fake malicious sync peer: a real HTTP server (``http.server`` in a thread) that says it is a
threadline server, then misbehaves on pages of events or on objects in a way a test picks.

Each misbehaviour is a function ``(handler, query) -> None`` that writes a whole answer (or never
finishes one). Endless answers stop when the client hangs up or the peer is closed.
"""

from __future__ import annotations

import gzip
import http.server
import json
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.graph.helpers import step

SITE = "6f0c1d2e-0000-4000-8000-00000000beef"
#: A valid event, for pages that must carry some.
EVENT = json.dumps(step("hostile.job", 1, 10, ["hostile.in"], ["hostile.out"])).encode()

Behaviour = Callable[["Handler", dict[str, str]], None]


def zstd_bomb(size: int) -> bytes:
    """A zstd frame of about ``size // 32768`` bytes that decompresses to ``size`` bytes of spaces,
    without a content size in its header: one RLE block (4 bytes) per 128 KiB."""
    block = 128 * 1024
    frame = bytearray(struct.pack("<I", 0xFD2FB528))
    frame += bytes([0x00, (17 - 10) << 3])  # no content size, not single-segment; a 128 KiB window
    count = size // block
    for number in range(count):
        last = 1 if number == count - 1 else 0
        frame += (last | (1 << 1) | (block << 3)).to_bytes(3, "little") + b" "
    return bytes(frame)


_GZIP_BOMBS: dict[int, bytes] = {}


def gzip_bomb(size: int) -> bytes:
    """One gzip member of ``size`` bytes of spaces (about a thousandth of that), made once per size."""
    if size not in _GZIP_BOMBS:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = b" " * (1024 * 1024)
        parts = [compressor.compress(block) for _ in range(size // len(block))]
        _GZIP_BOMBS[size] = b"".join([*parts, compressor.flush()])
    return _GZIP_BOMBS[size]


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers ``/api/v1/sync/info`` as a threadline server would; the rest as the peer says."""

    protocol_version = "HTTP/1.1"
    peer: HostilePeer

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(split.query).items()}
        self.peer.requests.append(split.path)
        if split.path == "/api/v1/sync/info":
            self.peer.info(self, query)
        elif split.path == "/api/v1/sync/events":
            self.peer.pages(self, query)
        elif split.path.startswith("/api/v1/objects/"):
            query["id"] = split.path.rsplit("/", 1)[1]
            self.peer.objects(self, query)
        else:
            self.send_json({"error": "no such thing"}, status=404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        if self.path == "/api/v1/objects/missing":
            self.send_json({"missing": []})  # it claims to have everything
        else:
            self.send_json({"error": "no such thing"}, status=404)

    def log_message(self, *_args: object) -> None:
        return

    # ---- ways to answer -------------------------------------------------------------------------------

    def send_json(self, data: Any, status: int = 200) -> None:
        """An honest JSON answer."""
        self.send_bytes(json.dumps(data).encode(), status=status)

    def send_bytes(self, body: bytes, status: int = 200, **headers: str) -> None:
        """A complete answer with a Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def send_chunks(self, chunks: Any, pause: float = 0.0, **headers: str) -> None:
        """A chunked answer of ``chunks`` (possibly endless), ``pause`` seconds apart; stops when the
        client hangs up or the peer closes."""
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        try:
            for chunk in chunks:
                if self.peer.closed.is_set():
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
                if pause:
                    time.sleep(pause)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client gave up: what a hostile peer hopes not to see
            self.close_connection = True

    def stall(self, headers_first: bool) -> None:
        """Send nothing (or only the headers and a bit of body) until the client gives up."""
        if headers_first:
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(b'{"events": [')
            self.wfile.flush()
        self.peer.closed.wait(60)
        self.close_connection = True


def honest_info(last_seq: int = 1_000_000) -> Behaviour:
    """``/api/v1/sync/info`` as a threadline server answers it."""

    def answer(handler: Handler, _query: dict[str, str]) -> None:
        handler.send_json(
            {
                "siteId": SITE,
                "protocol": 1,
                "version": "9.9.9",
                "lastSeq": last_seq,
                "maxBatchEvents": 1000,
                "maxBodyBytes": 1 << 24,
            }
        )

    return answer


def forever(chunk: bytes) -> Any:
    """An endless iterator of ``chunk``."""
    while True:
        yield chunk


class HostilePeer:
    """The fake server: ``pages`` answers pulls, ``objects`` answers object downloads."""

    def __init__(
        self,
        pages: Behaviour | None = None,
        objects: Behaviour | None = None,
        info: Behaviour | None = None,
    ) -> None:
        self.pages = pages or (lambda handler, _query: handler.send_json({"error": "no"}, status=404))
        self.objects = objects or (lambda handler, _query: handler.send_json({"error": "no"}, status=404))
        self.info = info or honest_info()
        self.requests: list[str] = []
        self.closed = threading.Event()
        handler = type("PeerHandler", (Handler,), {"peer": self})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving (endless and stalled answers end too)."""
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()


def new_digest() -> str:
    """A fresh digest of a part (a peer that says its part changed on every page)."""
    return uuid.uuid4().hex


# ---- misbehaviours on pages of events ---------------------------------------------------------------
# The words of the errors in the tables assume the limits the tests give the client: a timeout of 1 s,
# 1,000 bytes/s at least, pages and objects of 1 MiB at most.


def page_body(events: list[bytes], next_: int, more: bool, entities: str = "") -> bytes:
    """A page of events as ``GET /api/v1/sync/events`` answers it."""
    return b'{"events":[%s],"next":%d,"more":%s,"entities":"%s"}' % (
        b",".join(events),
        next_,
        b"true" if more else b"false",
        entities.encode(),
    )


def after_of(query: dict[str, str]) -> int:
    """The position a pull asked for."""
    return int(query.get("after", 0))


def same_page_forever(handler: Handler, _query: dict[str, str]) -> None:
    handler.send_bytes(page_body([EVENT], 5, more=True))


def more_but_nothing(handler: Handler, query: dict[str, str]) -> None:
    handler.send_bytes(page_body([], after_of(query) + 1, more=True))


def cursor_goes_back(handler: Handler, query: dict[str, str]) -> None:
    handler.send_bytes(page_body([EVENT], 10 if after_of(query) == 0 else 3, more=True))


def too_many_events(handler: Handler, query: dict[str, str]) -> None:
    count = int(query["limit"]) + 1
    handler.send_bytes(page_body([EVENT] * count, after_of(query) + count, more=False))


def zstd_bomb_page(handler: Handler, _query: dict[str, str]) -> None:
    handler.send_bytes(zstd_bomb(1 << 30), Content_Encoding="zstd")  # 32 KB that become 1 GiB


def gzip_bomb_page(handler: Handler, _query: dict[str, str]) -> None:
    handler.send_bytes(gzip_bomb(64 * 1024 * 1024), Content_Encoding="gzip")


def endless_page(handler: Handler, _query: dict[str, str]) -> None:
    handler.send_chunks(forever(b" " * 65536))


def endless_empty_gzip_members(handler: Handler, _query: dict[str, str]) -> None:
    member = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x03\x00" + bytes(8)  # a member of nothing
    handler.send_chunks(forever(member * 4096), Content_Encoding="gzip")


def endless_empty_zstd_frames(handler: Handler, _query: dict[str, str]) -> None:
    empty = bytes.fromhex("28b52ffd2000010000")  # a frame of nothing
    handler.send_chunks(forever(empty * 4096), Content_Encoding="zstd")


def brotli_page(handler: Handler, _query: dict[str, str]) -> None:
    handler.send_bytes(page_body([EVENT], 1, more=False), Content_Encoding="br")


def stall_before_answering(handler: Handler, _query: dict[str, str]) -> None:
    handler.stall(headers_first=False)


def stall_in_the_middle(handler: Handler, _query: dict[str, str]) -> None:
    handler.stall(headers_first=True)


def trickle(handler: Handler, _query: dict[str, str]) -> None:
    handler.send_chunks(forever(b" "), pause=0.05)  # 20 bytes a second, never quiet for long


def not_a_page(handler: Handler, _query: dict[str, str]) -> None:
    handler.send_json({"hello": "world"})


def digest_changes_every_page(handler: Handler, query: dict[str, str]) -> None:
    handler.send_bytes(page_body([EVENT], after_of(query) + 1, more=True, entities=new_digest()))


def malformed_info(handler: Handler, _query: dict[str, str]) -> None:
    handler.send_json({"siteId": "x", "protocol": 1, "lastSeq": "many"})


PAGE_CASES = [
    # (name, how pages are answered, how info is answered, words of the one-line error)
    ("the same page forever", same_page_forever, None, "does not move forward"),
    ("more, but no events", more_but_nothing, None, "said there were more events after 0 but sent none"),
    ("the cursor goes back", cursor_goes_back, None, "next=3: it does not move forward"),
    ("more events than asked", too_many_events, None, "events in a page of at most"),
    ("a zstd bomb", zstd_bomb_page, None, "sent more than 1,048,576 bytes (max_page_bytes) for a page"),
    ("a gzip bomb", gzip_bomb_page, None, "sent more than 1,048,576 bytes (max_page_bytes) for a page"),
    ("an endless page", endless_page, None, "sent more than 1,048,576 bytes (max_page_bytes) for a page"),
    ("endless empty gzip members", endless_empty_gzip_members, None, "as more than 16 gzip members"),
    (
        "endless empty zstd frames",
        endless_empty_zstd_frames,
        None,
        "encoded bytes for a page of 5,000 events",
    ),
    ("an encoding not asked for", brotli_page, None, "Content-Encoding 'br', which it was not asked for"),
    ("no answer at all", stall_before_answering, None, "stalled: nothing came for 1 s"),
    ("an answer that stops", stall_in_the_middle, None, "stalled: nothing came for 1 s"),
    ("an answer that trickles", trickle, None, "less than low_speed_limit (1,000 bytes/s)"),
    ("not a page", not_a_page, None, "not a page of events"),
    ("a part that changes on every page", digest_changes_every_page, None, "started the part over 6 times"),
    (
        "a stalled info",
        None,
        stall_before_answering,
        "stalled: nothing came for 1 s on GET /api/v1/sync/info",
    ),
    ("a malformed info", None, malformed_info, "malformed description of itself"),
]


# ---- misbehaviours on objects (a folder's manifest is served honestly) --------------------------------

FILE_SIZE = 1000


def endless_object(handler: Handler) -> None:
    handler.send_chunks(forever(b"x" * 65536))


def announced_too_large(handler: Handler, size: int = 10 * 1024**3) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(size))
    handler.end_headers()
    handler.wfile.write(b"x" * 65536)
    handler.close_connection = True


def encoded_object(handler: Handler) -> None:
    handler.send_bytes(gzip.compress(b"x" * FILE_SIZE), Content_Encoding="gzip")


def wrong_bytes(handler: Handler) -> None:
    handler.send_bytes(b"y" * FILE_SIZE)


def stalled_object(handler: Handler) -> None:
    handler.stall(headers_first=True)


def trickled_object(handler: Handler) -> None:
    handler.send_chunks(forever(b"x"), pause=0.05)


OBJECT_CASES = [
    # (name, misbehaviour, where the id comes from, words of the failure)
    (
        "an endless file of a folder",
        endless_object,
        "folder",
        "more than 1,000 bytes (the size its folder's manifest gives)",
    ),
    ("an endless file", endless_object, "file", "more than 1,048,576 bytes (max_object_bytes)"),
    ("a file announced too large", announced_too_large, "file", "announced 10,737,418,240 bytes"),
    (
        "a folder's file announced too large",
        announced_too_large,
        "folder",
        "whose folder's manifest gives 1,000",
    ),
    ("wrong bytes", wrong_bytes, "folder", "is corrupt"),
    ("an encoded object", encoded_object, "file", "encoded (gzip), not as stored"),
    ("a stalled object", stalled_object, "file", "stalled: nothing came for 1 s"),
    ("a trickled object", trickled_object, "folder", "less than low_speed_limit"),
]
