"""Decompressing gzip bodies of many members: ``threadline.server.bodies.gunzip`` against the way it
was done before issue 13 (each member handed the whole rest of the body, so zlib copied that rest as
``unused_data`` once per member: quadratic), side by side in one process.

    .venv/bin/python benchmarks/gzip_members.py [--members 1000,5000,20000,100000]

Prints, for each number of one-byte members, the seconds of each and their ratio. The old way is
skipped above 20,000 members (it takes minutes there).
"""

from __future__ import annotations

import argparse
import gzip
import time
import zlib

from threadline.server.bodies import gunzip

_GZIP_WBITS = 16 + zlib.MAX_WBITS
OLD_MAX_MEMBERS = 20_000


def old_gunzip(data: bytes, limit: int) -> bytes:
    """The quadratic version this benchmark compares against (bodies.py before issue 13)."""
    out = bytearray()
    while True:
        decompressor = zlib.decompressobj(_GZIP_WBITS)
        out += decompressor.decompress(data, limit + 1 - len(out))
        data = decompressor.unused_data
        if not data.strip(b"\0"):
            return bytes(out)


def _seconds(work: object, *args: object) -> float:
    started = time.perf_counter()
    work(*args)  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    """Run the comparison and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", default="1000,5000,20000,100000")
    args = parser.parse_args()
    member = gzip.compress(b" ")
    print(f"{'members':>9} {'body bytes':>11} {'now s':>8} {'before s':>9} {'before/now':>11}")
    for count in (int(text) for text in args.members.split(",")):
        body = member * count
        now = _seconds(gunzip, body, 64 << 20, count)
        before = _seconds(old_gunzip, body, 64 << 20) if count <= OLD_MAX_MEMBERS else None
        shown = f"{before:9.3f} {before / now:11.1f}" if before is not None else f"{'(skipped)':>9} {'':>11}"
        print(f"{count:>9,} {len(body):>11,} {now:8.3f} {shown}")


if __name__ == "__main__":
    main()
