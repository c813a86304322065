"""The daily sales pipeline's sources, for the example and ``make demo``: the shop's operational
database (SQLite, table ``orders``) and its CRM's HTTP API (customers, paged JSON).

- ``write_day(folder, day)`` adds day ``day``'s orders (1, 2 or 3) to ``folder/build/operational.sqlite``;
  day 3 carries what real feeds carry: an order inserted twice by a retry (its id twice), orders
  whose customer was lost (NULL), and an amount typed in cents (out of range).
- ``CrmApi(port)`` serves ``GET /customers?page=N`` (five per page, ``next`` links) from a thread.

    python -m examples.pipelines.sales.sources day N [--folder F]   # F: the pipeline's folder
    python -m examples.pipelines.sales.sources api [--port 8765]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

HERE = Path(__file__).resolve().parent
DAYS = ("2026-12-01", "2026-12-02", "2026-12-03")
ORDERS_PER_DAY = 40
PAGE_SIZE = 5
COUNTRIES = ("DE", "FR", "NL", "ES", "IT")
FIRST_NAMES = (
    "Ada",
    "Bruno",
    "Chloe",
    "Dmitri",
    "Elena",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Luca",
)


def customers() -> list[dict[str, Any]]:
    """The CRM's customers (the same every day)."""
    return [
        {
            "customer_id": index + 1,
            "name": name,
            "email": f"{name.lower()}@example.com",
            "country": COUNTRIES[index % len(COUNTRIES)],
            "since": f"2025-{index % 12 + 1:02d}-15",
        }
        for index, name in enumerate(FIRST_NAMES)
    ]


def orders_of(day: int) -> list[tuple[Any, ...]]:
    """Day ``day``'s orders: ``(order_id, customer_id, amount, status, ordered_at, updated_at)``."""
    date = DAYS[day - 1]
    rng = random.Random(day)
    rows = []
    for index in range(ORDERS_PER_DAY):
        order_id = day * 1000 + index
        at = f"{date} {8 + index * 12 // ORDERS_PER_DAY:02d}:{rng.randrange(60):02d}:00"
        status = rng.choice(("placed", "shipped", "shipped", "delivered", "cancelled"))
        amount = round(rng.uniform(8, 400), 2)
        rows.append((order_id, rng.randrange(1, len(FIRST_NAMES) + 1), amount, status, at, at))
    if day == 3:  # what a bad day's feed carries
        retried = rows[5]
        rows.append((retried[0], retried[1], retried[2], "shipped", retried[4], f"{date} 23:59:00"))
        rows[11] = (*rows[11][:1], None, *rows[11][2:])
        rows[12] = (*rows[12][:1], None, *rows[12][2:])
        rows[20] = (rows[20][0], rows[20][1], 12_999.0, *rows[20][3:])
    return rows


def write_day(folder: Path, day: int) -> Path:
    """Add day ``day``'s orders to the operational database under ``folder`` (made when missing)."""
    path = folder / "build" / "operational.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS orders (order_id INTEGER, customer_id INTEGER, amount REAL, "
            "status TEXT, ordered_at TEXT, updated_at TEXT)"
        )
        connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", orders_of(day))
    connection.close()
    return path


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path.rstrip("/") != "/customers":
            self.send_error(404, "no such resource: try /customers")
            return
        try:
            page = int(parse_qs(url.query).get("page", ["1"])[0])
        except ValueError:
            self.send_error(400, "page must be a number")
            return
        everyone = customers()
        chunk = everyone[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        more = page * PAGE_SIZE < len(everyone)
        body = json.dumps({"data": chunk, "next": f"/customers?page={page + 1}" if more else None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


class CrmApi:
    """The CRM's API on ``127.0.0.1:port`` (0: a free port), served from a thread until :meth:`close`."""

    def __init__(self, port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/customers"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    day = commands.add_parser("day", help="add a day's orders to the operational database")
    day.add_argument("day", type=int, choices=(1, 2, 3))
    day.add_argument("--folder", type=Path, default=HERE)
    serve = commands.add_parser("api", help="serve the CRM API until Ctrl+C")
    serve.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    if args.command == "day":
        print(f"orders of {DAYS[args.day - 1]} added to {write_day(args.folder, args.day)}")
        return 0
    crm = CrmApi(args.port)
    print(f"CRM API on {crm.url} (Ctrl+C stops it)", flush=True)
    try:
        crm.thread.join()
    except KeyboardInterrupt:
        crm.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
