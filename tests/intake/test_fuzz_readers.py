"""Any bytes in, either a parse or one clear error out, never a traceback (issue #12).

Hypothesis feeds the plan readers (every format), the unit-directory reader and the review-sheet
reader with random bytes, with text drawn from the words plans are made of (so the parsers go
deep, not only their format checks), and with real workbooks and documents whose cells hold such
text. Each reader must return its result or raise its own error type with a Chinese message that
names the file: no KeyError, IndexError, RecursionError or MemoryError reaches the office.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import docx
import openpyxl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from duban.directory import DirectoryError, load_directory
from intake.errors import IntakeError
from intake.importer import parse_path, parse_text
from intake.review_xlsx import export_review, read_review
from tests.conftest import EXAMPLES

CJK = re.compile(r"[\u4e00-\u9fff]")
FUZZ = settings(
    max_examples=int(os.environ.get("DUBAN_FUZZ_EXAMPLES", "60")),
    deadline=None,  # speed is measured in bench/, not here; a hang still fails the CI timeout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=os.environ.get("DUBAN_FUZZ_EXAMPLES") is None,  # CI: the same examples each run
)

WORDS = [
    "2024年",
    "3月底前",
    "4月中旬",
    "每月26日前",
    "每季度",
    "至少一次",
    "年底前",
    "12月31日",
    "（区应急局、各街镇）",
    "牵头单位：",
    "责任单位：",
    "配合单位：",
    "区领导：",
    "由区住建委负责",
    "一、",
    "二、",
    "（一）",
    "1.",
    "2、",
    "(3)",
    "①",
    "第一条",
    "# ",
    "## ",
    "|",
    "\t",
    ",",
    "，",
    "；",
    "。",
    "：",
    "\n",
    "\n\n",
    " ",
    "\u3000",
    "序号",
    "任务",
    "时间节点",
    "开展",
    "排查整治",
    "安全生产",
    "工作要点",
    "三年行动",
    "FREQ=MONTHLY",
    "2024-13-45",
    "～",
    "至",
    "前",
    "&",
    "*",
    "\x00",
    "\ufeff",
    "\r",
    "[",
    "]",
    "{",
    "}",
    "- ",
    "units:",
    "name:",
    "groups:",
    "members:",
]
plan_text = st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=80).map("".join)
any_bytes = st.binary(max_size=4096)


_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    """What a Word or Excel file can hold at all (the fuzz is of our reader, not of lxml)."""
    return _NOT_XML.sub("", text)


def _one_clear_error(exc: Exception, path: Path | str) -> None:
    message = str(exc)
    assert CJK.search(message), f"not a Chinese message: {message!r}"
    assert str(Path(path).name) in message or str(path) in message, message


def _write(data: bytes, suffix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="duban-fuzz-"))
    path = folder / f"计划{suffix}"
    path.write_bytes(data)
    return path


def _parse_or_refuse(path: Path) -> None:
    try:
        parse_path(path)
    except IntakeError as exc:
        _one_clear_error(exc, path)


SUFFIXES = [".txt", ".md", ".csv", ".html", ".docx", ".xlsx", ".pdf"]


@FUZZ
@given(data=any_bytes, suffix=st.sampled_from(SUFFIXES))
def test_any_bytes_as_a_plan_parse_or_give_one_error(data: bytes, suffix: str) -> None:
    _parse_or_refuse(_write(data, suffix))


@FUZZ
@given(text=plan_text, encoding=st.sampled_from(["utf-8", "gb18030", "utf-16"]))
def test_plan_like_text_parses_or_gives_one_error(text: str, encoding: str) -> None:
    _parse_or_refuse(_write(text.encode(encoding, "replace"), ".txt"))
    try:
        parse_text(text, name="计划.txt")
    except IntakeError as exc:
        _one_clear_error(exc, "计划.txt")


@FUZZ
@given(rows=st.lists(st.lists(plan_text, min_size=1, max_size=6), min_size=1, max_size=12))
def test_a_workbook_of_plan_like_cells_parses_or_gives_one_error(rows: list[list[str]]) -> None:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append([_xml_safe(c) for c in row])
    path = _write(b"", ".xlsx")
    wb.save(path)
    _parse_or_refuse(path)


@FUZZ
@given(paragraphs=st.lists(plan_text, min_size=1, max_size=20))
def test_a_word_document_of_plan_like_paragraphs_parses_or_gives_one_error(
    paragraphs: list[str],
) -> None:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(_xml_safe(text))
    path = _write(b"", ".docx")
    document.save(str(path))
    _parse_or_refuse(path)


YAML_WORDS = [*WORDS, "\n  - ", "\n    ", "{", "}", ": ", "&a ", "*a", "!!python/object", "'", '"']
directory_text = st.lists(st.sampled_from(YAML_WORDS) | st.text(max_size=4), max_size=60).map(
    "".join
)


def _load_or_refuse(path: Path) -> None:
    try:
        load_directory(path)
    except DirectoryError as exc:
        _one_clear_error(exc, path)


@FUZZ
@given(
    text=st.one_of(directory_text, any_bytes.map(lambda b: b.decode("latin-1"))),
    suffix=st.sampled_from([".yaml", ".csv"]),
)
@example(text="x\n  - name: 2024-13-45", suffix=".yaml")  # found by this fuzz: a bad date
@example(text="x\r", suffix=".csv")  # found by this fuzz: a lone CR (csv.Error)
def test_any_directory_file_reads_or_gives_one_error(text: str, suffix: str) -> None:
    head = "units:\n  - name: " if suffix == ".yaml" else "单位,别名,联系人,邮箱,渠道,渠道地址\n"
    _load_or_refuse(_write((head + text).encode("utf-8", "replace"), suffix))


@FUZZ
@given(data=any_bytes)
def test_any_bytes_as_a_directory_workbook_give_one_error(data: bytes) -> None:
    _load_or_refuse(_write(data, ".xlsx"))


_REVIEW: list[Path] = []


def _review_template() -> Path:
    if not _REVIEW:
        parsed = parse_path(EXAMPLES / "plans" / "2024_区安全生产工作要点.md")
        path = Path(tempfile.mkdtemp(prefix="duban-fuzz-")) / "审核表.xlsx"
        export_review(parsed, path, plan_id=1)
        _REVIEW.append(path)
    return _REVIEW[0]


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(1, 12), st.integers(1, 9), plan_text), min_size=1, max_size=8
    ),
    sheet=st.sampled_from(["任务", "计划"]),
)
def test_an_edited_review_sheet_reads_or_gives_one_error(
    edits: list[tuple[int, int, str]], sheet: str
) -> None:
    wb = openpyxl.load_workbook(_review_template())
    if sheet in wb.sheetnames:
        ws = wb[sheet]
        for row, column, text in edits:
            cell = ws.cell(row=row, column=column)
            cell.value = _xml_safe(text)
            cell.data_type = "s"
    path = _write(b"", ".xlsx")
    wb.save(path)
    try:
        read_review(path)
    except IntakeError as exc:
        _one_clear_error(exc, path)
