"""Rendered pages kept while the database has not changed (PostgreSQL only).

A page is looked up under the database's data version (`models.db.data_stamp`), read before
any of the page's data. Every transaction that writes moves it, inside itself, at its commit
(triggers on every table, migration 0024), so two requests that read the same version read the
same rows, and the second gets the first one's HTML; any commit by any path (the service's tick,
a unit's 签收, a clerk's 销号, the CLI, psql) moves it, and the next request reads and renders
afresh. An entry is never older than its key: the page's reads come after the version, so at
worst it holds a commit the version did not, which a request under that version may see.
Bookkeeping writes (the sender's lease, tick runs, logins) do not move it.

The rest of the key is what the page's rendering depends on besides the data: its template and
arguments, the day, the person (name and role). The CSRF token of each session is put into the
cached HTML on the way out (rendered as `MARK`), so clerks share nothing but the rows.

On SQLite there is no stamp (each connection's `data_version` misses its own writes), so every
request renders: SQLite is the small installation, where pages render in a few milliseconds.
Each worker process keeps its own entries, at most `DUBAN_PAGE_CACHE_MB` (32), least recently used
first out; 0 turns the cache off.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import HTMLResponse
from markupsafe import escape

from models.db import data_stamp

# What the cached HTML holds where a session's CSRF token goes (random per process: no request
# can put it into a page).
MARK = "csrf-mark-" + secrets.token_hex(16)
BUDGET = 32 * 1024 * 1024
RENDER_WAIT = 30.0  # seconds a request waits for another's rendering of the same page
HEADER = "X-Duban-Page"  # "cached" or "rendered": what the response cost (tests, the bench)


@dataclass
class PageCache:
    """Rendered pages by key, within a byte budget."""

    budget: int = BUDGET
    entries: OrderedDict[Hashable, bytes] = field(default_factory=OrderedDict)
    size: int = 0
    hits: int = 0
    misses: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    rendering: dict[Hashable, threading.Event] = field(default_factory=dict)

    def get(self, key: Hashable) -> bytes | None:
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self.entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.budget // 8:
            return
        with self.lock:
            old = self.entries.pop(key, None)
            self.size -= len(old) if old is not None else 0
            self.entries[key] = body
            self.size += len(body)
            while self.size > self.budget:
                _, dropped = self.entries.popitem(last=False)
                self.size -= len(dropped)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = self.hits = self.misses = 0

    def kept(self, key: Hashable, render: Callable[[], bytes]) -> tuple[bytes, bool]:
        """The entry under `key`, rendered once when missing: requests that miss the same key
        meanwhile wait for that one rendering rather than each doing it (after a commit, 20
        clerks' requests for the dashboard would otherwise each spend its seconds over 1M
        rows). Returns (body, whether it was kept already)."""
        while True:
            found = self.get(key)
            if found is not None:
                return found, True
            with self.lock:
                running = self.rendering.get(key)
                if running is None:
                    running = self.rendering[key] = threading.Event()
                    mine = True
                else:
                    mine = False
            if not mine:
                running.wait(RENDER_WAIT)
                if key in self.rendering and self.rendering[key] is running:
                    break  # still not done: render ourselves rather than wait on
                continue
            try:
                body = render()
                self.put(key, body)
                return body, False
            finally:
                with self.lock:
                    self.rendering.pop(key, None)
                running.set()
        body = render()
        return body, False


PAGES = PageCache()


def stamp_for_pages(conn: Any) -> str | None:
    """The stamp to look pages up under (`models.db.data_stamp`), None when nothing is kept."""
    return data_stamp(conn) if PAGES.budget > 0 else None


def cached_page(
    stamp: str | None,
    key: tuple[Hashable, ...],
    csrf: str,
    render: Callable[[str], str],
) -> HTMLResponse:
    """The page under (`stamp`, `key`), rendered by `render(csrf_mark)` when not kept.

    `render` is given the text to write where the CSRF token goes; without a stamp the page is
    rendered with the token itself and not kept."""
    if stamp is None:
        return HTMLResponse(render(csrf), headers={HEADER: "rendered"})
    token = str(escape(csrf)).encode()
    body, kept = PAGES.kept((stamp, *key), lambda: render(MARK).encode())
    return HTMLResponse(
        body.replace(MARK.encode(), token), headers={HEADER: "cached" if kept else "rendered"}
    )
