"""Forms read from the request stream: fields capped, files written to the evidence folder as
they arrive (never held whole in memory or spooled elsewhere), refused the moment they break a
limit. The form's CSRF field comes before its files, so a forged upload is refused before a
byte of it is written.

The handlers that take a form are `async` only to read it: what the form asks for (the
database, files, password hashing) runs in the thread pool (`run_in_transaction`), and so do a
file's writes as it arrives, so that a request waiting on a lock or a disk never stalls the
worker's other requests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header
from sqlmodel import Session
from starlette.requests import Request

from duban.web.app import in_thread, web_engine
from models.db import session_scope
from models.repo.evidence import MAX_FILES, EvidenceError, EvidenceStore, Staged
from models.types import clean_text

T = TypeVar("T")

MAX_FIELD = 16 * 1024
MAX_PLAIN_BODY = 256 * 1024


class FormError(Exception):
    """A form refused as a whole; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Form:
    """A parsed form: text fields and the staged (not yet checked) files."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[Staged] = field(default_factory=list)

    def get(self, name: str) -> str:
        """A field's value ("" when absent)."""
        return self.fields.get(name, "")

    def discard(self) -> None:
        """Remove every staged file (the form was refused)."""
        for f in self.files:
            f.discard()


class _Parts:
    """Callbacks for python-multipart: one part at a time, text into `fields`, files to disk."""

    def __init__(
        self, form: Form, store: EvidenceStore | None, before_files: Callable[[Form], None]
    ) -> None:
        self.form, self.store, self.before_files = form, store, before_files
        self.checked = False
        self._headers: dict[bytes, bytes] = {}
        self._field, self._value = b"", b""
        self._name = ""
        self._text: bytearray | None = None
        self._file: Staged | None = None
        self._skip = False

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self.begin,
            "on_header_field": lambda d, s, e: self._grow("_field", d[s:e]),
            "on_header_value": lambda d, s, e: self._grow("_value", d[s:e]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_done,
            "on_part_data": self.data,
            "on_part_end": self.end,
        }

    def _grow(self, attr: str, chunk: bytes) -> None:
        value = getattr(self, attr) + chunk
        if len(value) > 4096:
            raise FormError("表单格式错误（头部过长）", 400)
        setattr(self, attr, value)

    def begin(self) -> None:
        self._headers, self._text, self._file, self._skip = {}, None, None, False

    def header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def headers_done(self) -> None:
        _, opts = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = opts.get(b"name", b"").decode("utf-8", "replace")
        filename = opts.get(b"filename")
        if filename is None:
            self._text = bytearray()
            return
        if not filename:  # a file input left empty
            self._skip = True
            return
        if self.store is None:
            raise FormError("此表单不接受文件", 400)
        if not self.checked:
            self.before_files(self.form)
            self.checked = True
        if len(self.form.files) >= MAX_FILES:
            raise EvidenceError(f"一次最多上传 {MAX_FILES} 个文件", 413)
        self._file = self.store.stage(filename.decode("utf-8", "replace"))
        self.form.files.append(self._file)

    def data(self, d: bytes, start: int, end: int) -> None:
        if self._skip:
            return
        if self._file is not None:
            self._file.write(d[start:end])
            return
        assert self._text is not None
        self._text += d[start:end]
        if len(self._text) > MAX_FIELD:
            raise FormError("填写的内容过长", 413)

    def end(self) -> None:
        if self._file is not None:
            self._file.close()
        elif self._text is not None:
            self.form.fields[self._name] = clean_text(self._text.decode("utf-8", "replace"))


async def read_form(
    request: Request,
    *,
    store: EvidenceStore | None = None,
    before_files: Callable[[Form], None] = lambda form: None,
) -> Form:
    """Parse the request's form; `FormError` / `EvidenceError` leave nothing on disk."""
    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    limit = MAX_PLAIN_BODY
    if store is not None:
        limit += MAX_FILES * store.max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > 2 * limit:
        raise FormError("提交的内容过大", 413)
    form = Form()
    if ctype in (b"application/x-www-form-urlencoded", b""):  # no type: an empty form
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_PLAIN_BODY:
                raise FormError("提交的内容过大", 413)
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        form.fields = {clean_text(k): clean_text(v) for k, v in pairs}
        return form
    if ctype != b"multipart/form-data" or b"boundary" not in opts:
        raise FormError("表单格式错误", 400)
    parts = _Parts(form, store, before_files)
    parser = MultipartParser(opts[b"boundary"], parts.callbacks())  # type: ignore[arg-type]
    # A form that takes files writes and hashes each chunk as it is parsed (up to the socket's
    # read size at a time, 10 files of up to the cap in all): in the thread pool, one chunk at a
    # time, while the stream itself is read here. A text-only form is parsed in memory.
    feed = _off_loop if store is not None else _on_loop
    failure: Exception | None = None
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if failure is not None:
            if seen > 2 * limit:
                break
            continue  # read the rest, so the browser gets our answer instead of a reset
        try:
            if seen > limit:
                raise FormError("提交的内容过大", 413)
            await feed(parser.write, chunk)
        except (FormError, EvidenceError) as exc:
            failure = exc
            await feed(form.discard)
        except Exception:  # the multipart parser's own errors: a malformed body
            failure = FormError("表单格式错误", 400)
            await feed(form.discard)
    if failure is None:
        try:
            await feed(parser.finalize)
        except Exception as exc:
            await feed(form.discard)
            raise FormError("表单格式错误", 400) from exc
    if failure is not None:
        raise failure
    return form


async def _on_loop(fn: Callable[..., object], *args: object) -> None:
    fn(*args)


async def _off_loop(fn: Callable[..., object], *args: object) -> None:
    await in_thread(fn, *args)


async def run_in_transaction(work: Callable[[Session], T]) -> T:
    """Do what a form asks for in one transaction (committed when `work` returns, rolled back
    when it raises, the exception passed on) on the thread pool, so that while it waits on the
    database (a lock, a slow write), on files or on a password hash, the event loop goes on
    answering the worker's other requests."""
    return await in_thread(_in_transaction, work)


def _in_transaction(work: Callable[[Session], T]) -> T:
    with session_scope(web_engine()) as session:
        return work(session)
