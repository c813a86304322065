"""The hash cache: hits, invalidation, racy entries, bulk lookups, threads, and a damaged file."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from threadline.artifacts import FileKey, HashCache, NullHashCache
from threadline.artifacts.hashcache import is_racy

HEX = "a" * 64
LONG_AGO = time.time_ns() - 3600 * 10**9


def key(path: str = "/data/f", *, mtime_ns: int = LONG_AGO + 123, size: int = 10, inode: int = 7) -> FileKey:
    return FileKey(path, 1, inode, mtime_ns, size)


def test_a_stored_entry_is_found_for_the_same_file_version(hash_cache: HashCache) -> None:
    assert hash_cache.put_many([(key(), HEX)], time.time_ns()) == 1
    assert hash_cache.get(key()) == HEX
    assert len(hash_cache) == 1


def test_any_change_to_the_stat_is_a_miss(hash_cache: HashCache) -> None:
    hash_cache.put_many([(key(), HEX)], time.time_ns())
    assert hash_cache.get(key(mtime_ns=LONG_AGO + 124)) is None
    assert hash_cache.get(key(size=11)) is None
    assert hash_cache.get(key(inode=8)) is None
    assert hash_cache.get(FileKey("/data/f", 2, 7, LONG_AGO + 123, 10)) is None
    assert hash_cache.get(key("/data/g")) is None


def test_entries_are_replaced(hash_cache: HashCache) -> None:
    hash_cache.put_many([(key(), HEX)], time.time_ns())
    hash_cache.put_many([(key(size=11), "b" * 64)], time.time_ns())
    assert hash_cache.get(key(size=11)) == "b" * 64
    assert len(hash_cache) == 1


def test_racy_files_are_not_remembered(hash_cache: HashCache) -> None:
    now = time.time_ns()
    fresh = key(mtime_ns=now - 10_000_000)  # modified 10 ms before hashing began
    assert is_racy(fresh, now)
    assert hash_cache.put_many([(fresh, HEX)], now) == 0
    assert hash_cache.get(fresh) is None
    whole_second = key(mtime_ns=(now // 10**9 - 1) * 10**9)  # a coarse filesystem: 2 s margin
    assert is_racy(whole_second, now)
    assert not is_racy(key(), now)


def test_bulk_lookup_over_many_paths(hash_cache: HashCache) -> None:
    keys = [key(f"/d/{i}", inode=i) for i in range(1_300)]  # more than one SQL slice
    hash_cache.put_many([(k, f"{i:064x}") for i, k in enumerate(keys)], time.time_ns())
    changed = keys[:5] + [k._replace(size=99) for k in keys[5:10]] + keys[10:]
    found = hash_cache.get_many(changed)
    assert len(found) == 1_295
    assert found["/d/1299"] == f"{1299:064x}"
    assert "/d/7" not in found


def test_persists_across_instances(tmp_path: Path) -> None:
    with HashCache(tmp_path / "c.db") as cache:
        cache.put_many([(key(), HEX)], time.time_ns())
    with HashCache(tmp_path / "c.db") as cache:
        assert cache.get(key()) == HEX
        mode = cache._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_damaged_cache_file_is_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    path.write_bytes(b"this is not a database" * 100)
    with HashCache(path) as cache:
        assert cache.get(key()) is None
        cache.put_many([(key(), HEX)], time.time_ns())
        assert cache.get(key()) == HEX


def test_names_that_are_not_utf8_are_simply_not_cached(hash_cache: HashCache) -> None:
    odd = key(os.fsdecode(b"/data/\xff"))
    assert hash_cache.put_many([(odd, HEX)], time.time_ns()) == 0
    assert hash_cache.get_many([odd]) == {}


def test_thread_safe(hash_cache: HashCache) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(50):
                k = key(f"/t/{worker}/{i}")
                hash_cache.put_many([(k, HEX)], time.time_ns())
                assert hash_cache.get(k) == HEX
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(hash_cache) == 400


def test_null_hash_cache_remembers_nothing() -> None:
    cache = NullHashCache()
    assert cache.put_many([(key(), HEX)], time.time_ns()) == 0
    assert cache.get(key()) is None
    assert cache.get_many([key()]) == {}
    cache.close()
