"""Responsible units: split unit lists, read lead/support wordings, find units in prose.

Plans list units in every shape: "(X、Y，Z)", "(X牵头，Y配合)", "(X牵头、Y、Z配合)",
"(责任单位：X；配合单位：Y)", "(X等部门分工负责)", a trailing 等, a missing 、 between two
names ("市房屋管理局市安委会相关成员单位"), an elided prefix ("区安委会相关成员单位、签约单位")
and page-break debris inside a name. The rules here are general: known name endings and known
name beginnings, never a list of the units of one plan.
"""

from __future__ import annotations

import re
from functools import lru_cache

# A page break that split a paragraph is joined with this mark, so that a character the
# printer repeated on both sides of the break ("社会保障|障局") can be dropped inside names.
BREAK_MARK = "\u2063"

_LEAD_WORDS = r"(?:主要)?(?:责任|牵头|主责|主办|组织|承办)"
_SUPPORT_WORDS = r"(?:配合|协办|协助|参与|参加|协同|协作)"
_LABEL_WORD = rf"(?:{_LEAD_WORDS}|{_SUPPORT_WORDS})(?:单位|部门)(?:及责任人)?"
_LABEL = re.compile(rf"({_LABEL_WORD})\s*[:：]")
_LABELLED_LINE = re.compile(rf"{_LABEL_WORD}\s*[:：][^\n。；;{BREAK_MARK}]*")
_SUPPORT_LABEL = re.compile(_SUPPORT_WORDS)
_ROLE = re.compile(
    r"(?:等(?:部门|单位))?(?:分工)?(牵头|负责|主责|配合|协助|参与|协办|协同)(?=[、，,；;。\s]|$)"
)
_LEAD_ROLES = frozenset({"牵头", "负责", "主责"})

# A name ends like this and the next one starts like that: a missing 、 between them.
_NAME_END = (
    r"(?:局|委|办|部|政府|单位|支队|总队|大队|公司|集团|中心|街镇|管委会|委员会|总工会|部门|企业)"
)
_NAME_START = r"(?:市|区|县|镇|乡|各|上海|团区委|团市委|民航|中国|国家)"
_GLUED = re.compile(rf"{_NAME_END}(?={_NAME_START})")
_UNIT_SUFFIX = re.compile(
    r"(?:局|委|办|部|门|府|位|队|司|团|心|镇|会|室|所|院|站|处|科|社|机构|园区|开发区|新区|示范区|片区|高新区|经开区|保税区|居|业|校|组|街道)$"
)
# Each of a kind of place or office: "各地", "各级", "各乡镇" are the units a plan addresses.
_COLLECTIVE = re.compile(r"^各(?:地|级|区|县|市|乡|镇|乡镇|街镇|村|社区|村居|区县|县区|县市|市县)$")
_GENERIC = re.compile(r"^(?:各|其他|相关|有关)*(?:成员单位|签约单位|成员)$")
_ORG_PREFIX = re.compile(r"^(.+?(?:安委会|委员会|管委会|领导小组))")
_TRAILING_ETC = re.compile(
    r"(?:等(?:部门|单位|机构)?|按(?:照)?职责|根据职责)?(?:分工)?(?:负责|牵头|落实)?$"
)
# A closing bracket of three characters or more is a remark or another name for the unit
# ("市安委办（工作专班办公室）", "X（详见任务分工）"); a short one is part of it ("各乡（镇）").
_TRAILING_NOTE = re.compile(r"\s*[（(][^（）()]{3,}[）)]$")
_NOTE = re.compile(r"下同|详见|以下简称|简称|列第一|者为|为准|如下|另行|牵头单位或")
_TIME_LIKE = re.compile(r"\d+\s*[年月日]|年底|年内|年末|季度|半年|长期|持续|前完成")
_EMPTY = frozenset({"", "/", "／", "无", "—", "-", "——", "暂无"})
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff（）()])\s+(?=[\u4e00-\u9fff（）()])")
_REPEAT_AT_BREAK = re.compile(rf"(.){BREAK_MARK}\1")
_PROSE_DUTY = re.compile(
    r"(?:^|[。；;，,！？\n])\s*([^。；;，,：:！？\n]{2,40}?)(?:等(?:部门|单位|机构))?(?:(?:都|均|一定)?要(?!求)|负责|牵头)"
)
_NOT_SUBJECT = re.compile(
    r"^(?:按照|根据|由|对|在|将|把|向|经|同时|通过|结合|围绕|以|为|加强|推动)"
)


def clean_name(name: str) -> str:
    """Drop page-break debris, markup and a closing note ("（详见任务分工）") from a unit name."""
    name = _REPEAT_AT_BREAK.sub(r"\1", name).replace(BREAK_MARK, "")
    name = re.sub(r"[*_`]", "", name)
    name = _CJK_GAP.sub("", name).strip(" \t\u3000。.")
    note = _TRAILING_NOTE.search(name)
    if note and PLACE_KINDS.match(name[note.start() :].strip()):
        return name  # "各县（市、区）": kinds of place, part of the name
    return name[: note.start()].strip() if note and note.start() >= 2 else name


def is_note(text: str) -> bool:
    """True for a bracketed remark about a list ("列第一位者为牵头单位，下同"), not a unit."""
    return bool(_NOTE.search(text))


# Kinds of place in brackets after a place's name are part of it ("各县（市、区）").
PLACE_KINDS = re.compile(
    r"[（(](?:(?:市|区|县|镇|乡|乡镇|街道|开发区|园区|管委会|场|林场)[、，,]?){1,4}[）)]$"
)


def looks_like_unit(name: str) -> bool:
    """True when ``name`` reads like an office, a group of offices or a place's government."""
    if not 2 <= len(name) <= 30 or "的" in name:
        return False
    inlined = re.sub(r"[（(]([^（）()]{1,2})[）)]$", r"\1", name)  # "各乡（镇）", "各县（区）"
    inlined = PLACE_KINDS.sub("", inlined)  # "各县（市、区）", "各乡镇（街道、开发区）"
    return bool(_COLLECTIVE.match(inlined) or _UNIT_SUFFIX.search(inlined))


def split_units(text: str, *, spaces_separate: bool = False) -> list[str]:
    """Split a unit list on 、，,；; (and spaces in table cells), fixing debris and gaps."""
    return list(_split_units(text, spaces_separate))


def clear_caches() -> None:
    """Forget the unit lists read so far (benchmarks time a plan read for the first time)."""
    _split_units.cache_clear()
    is_unit_group.cache_clear()


@lru_cache(maxsize=4096)  # a plan asks for the same groups several times while it is read
def _split_units(text: str, spaces_separate: bool) -> tuple[str, ...]:
    if not spaces_separate:
        text = re.sub(r"\s+", "", text.replace(BREAK_MARK + " ", BREAK_MARK))
    pieces = _split_top_level(re.sub(r"\s+(?=[（(])", "", text), spaces_separate=spaces_separate)
    if spaces_separate:
        pieces = _join_spaced(pieces)
    names: list[str] = []
    # "X及Y按职责分工": the role words go before the conjunction is looked at
    trimmed = [_TRAILING_ETC.sub("", p.strip()) or p for p in pieces]
    for piece in (part for p in trimmed for part in _split_conjunction(p)):
        for name in _unglue(_TRAILING_ETC.sub("", clean_name(piece))):
            if name in _EMPTY or len(name) < 2 or _TIME_LIKE.search(name):
                continue  # a deadline among the units is a time; one character is debris
            names.append(_inherit_prefix(name, names[-1]) if names else name)
    return tuple(dict.fromkeys(_share_suffix(names)))


def _share_suffix(names: list[str]) -> list[str]:
    """ "交通运输、公安交警、应急管理部门": the last name's 部门 belongs to every name of the list."""
    last = names[-1] if names else ""
    kind = next((k for k in ("部门", "单位", "机构") if last.endswith(k)), "")
    if len(names) < 2 or not kind or len(last) <= len(kind) + 1 or re.search("各|有关|相关", last):
        return names  # "杨陵区、示范区各部门": a place and its departments
    heads = names[:-1]
    if any(looks_like_unit(n) or not 2 <= len(n) <= 6 or not _CJK_ONLY.match(n) for n in heads):
        return names
    if any(n.endswith(("区", "县", "市", "乡", "村", "街道")) for n in heads):
        return names
    return [n + kind for n in heads] + [last]


_CJK_ONLY = re.compile(r"^[\u4e00-\u9fff]+$")


def _split_top_level(text: str, *, spaces_separate: bool) -> list[str]:
    seps = "、，,；;/／" + (" \t\u3000" if spaces_separate else "")
    pieces: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        depth += ch in "（(【["
        depth -= ch in "）)】]"
        if ch in seps and depth <= 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(ch)
    pieces.append("".join(current))
    return [p for p in pieces if p.strip()]


# An office named by its kind alone ("安委会") is the office of the name before it.
_BARE_OFFICE = re.compile(r"^(?:安委会|安委办|办公室|委员会|管委会|领导小组|指挥部|工作专班)$")


def _join_spaced(pieces: list[str]) -> list[str]:
    """Spaces in a table cell separate names, unless a piece is no name on its own
    ("各县区（开发区） 安委会" is one unit, "安监站 安监所" two)."""
    out: list[str] = []
    for piece in pieces:
        if out and (not looks_like_unit(out[-1].strip()) or _BARE_OFFICE.match(piece.strip())):
            out[-1] += piece
        else:
            out.append(piece)
    return out


_BODY = ("政府", "委员会", "指挥部", "办公室", "领导小组")


def _split_conjunction(piece: str) -> list[str]:
    """ "X和Y" / "X及Y" of two units; "住房和城乡建设局" stays one name (Y starts no name)."""
    for match in re.finditer(r"(?:以及|和|及|与)", piece):
        left, right = clean_name(piece[: match.start()]), clean_name(piece[match.end() :])
        # "各牵头单位和汇总单位": two kinds of unit named by their role
        kinds = left.endswith("单位") and right.endswith("单位") and len(right) <= 6
        # "各级人民政府和防汛抗旱指挥部": a government and a headquarters, each whole
        bodies = left.endswith(_BODY) and right.endswith(_BODY) and len(right) >= 5
        if (
            looks_like_unit(left)
            and (re.match(_NAME_START, right) or kinds or bodies)
            and looks_like_unit(right)
        ):
            return [left, *_split_conjunction(right)]
    return [piece]


def _unglue(name: str) -> list[str]:
    parts, start = [], 0
    for match in _GLUED.finditer(name):
        if match.end() - start >= 3 and len(name) - match.end() >= 3:
            parts.append(name[start : match.end()])
            start = match.end()
    parts.append(name[start:])
    return parts


def _inherit_prefix(name: str, previous: str) -> str:
    """Read "签约单位" after "区安委会相关成员单位" means "区安委会签约单位"."""
    if not _GENERIC.match(name):
        return name
    prefix = _ORG_PREFIX.match(previous)
    if prefix:
        return prefix.group(1) + name
    office = re.match(r"^(.+安委)办$", previous)  # "区安委办、签约单位": the committee's units
    return office.group(1) + "会" + name if office else name


_SHARED = re.compile(r"(?:按照?|根据)(?:各自)?职责(?:分工)?负责$|分工负责$|分别负责$")


def split_roles(group: str, *, spaces_separate: bool = False) -> tuple[list[str], list[str]]:
    """Read a unit group into (lead, support) units.

    Handles labels ("责任单位：X；配合单位：Y") and role words after the names ("X牵头，Y配合",
    "X牵头、Y、Z配合", "X负责", "X等部门分工负责"); a group without either is all lead.
    """
    if _LABEL.search(group):
        return _split_labelled(group, spaces_separate=spaces_separate)
    if not _ROLE.search(group):
        return split_units(group, spaces_separate=spaces_separate), []
    lead: list[str] = []
    support: list[str] = []
    last = 0
    led = False
    for match in _ROLE.finditer(group):
        names = split_units(group[last : match.start()], spaces_separate=spaces_separate)
        # "X牵头，Y按职责分工负责": under a lead, the units sharing the work support it
        shared = led and _SHARED.search(group[last : match.end()]) is not None
        (lead if match.group(1) in _LEAD_ROLES and not shared else support).extend(names)
        led = led or match.group(1) == "牵头"
        last = match.end()
    rest = split_units(group[last:], spaces_separate=spaces_separate)
    (support if lead else lead).extend(rest)
    return _unique(lead), [u for u in _unique(support) if u not in lead]


def _split_labelled(group: str, *, spaces_separate: bool) -> tuple[list[str], list[str]]:
    lead: list[str] = []
    support: list[str] = []
    parts = _LABEL.split(group)
    # Text before the first label is units only where it reads as units (not a remark).
    head = split_units(parts[0], spaces_separate=spaces_separate)
    lead.extend(n for n in head if looks_like_unit(n))
    # "牵头单位：X 责任单位：Y": the 责任单位 carry the work under the lead, as support.
    led = any(label.startswith("牵头") for label in parts[1::2])
    for label, body in zip(parts[1::2], parts[2::2], strict=True):
        below = led and label.startswith(("责任", "主要责任"))
        target = support if _SUPPORT_LABEL.match(label) or below else lead
        body = re.split(r"[。；;]", body, maxsplit=1)[0]  # the list ends with its sentence
        target.extend(split_units(body, spaces_separate=spaces_separate))
    return _unique(lead), [u for u in _unique(support) if u not in lead]


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


@lru_cache(maxsize=4096)
def is_unit_group(group: str) -> bool:
    """True when a parenthesised group lists units rather than explaining the sentence."""
    if _LABEL.search(group):
        return True
    if is_note(group):
        return False
    lead, support = split_roles(group)
    names = lead + support
    if not names or any(len(n) > 30 for n in names):
        return False
    return sum(looks_like_unit(n) for n in names) * 2 >= len(names)


def split_leaders(cell: str) -> list[str]:
    """Split a leaders cell; two-character names padded with a space ("蒋 龙") stay one name."""
    tokens = [t for t in re.split(r"[\s、，,；;/]+", cell) if t and t not in _EMPTY]
    names: list[str] = []
    pending = ""
    for token in tokens:
        if len(token) == 1:
            pending += token
            if len(pending) == 2:
                names.append(pending)
                pending = ""
            continue
        if pending:
            names.append(pending)
            pending = ""
        names.append(token)
    if pending:
        names.append(pending)
    return names


def find_labelled_units(text: str) -> tuple[list[str], list[str]] | None:
    """Units on label lines ("责任单位：X；配合单位：Y") anywhere in a task's text, if any."""
    match = _LABEL.search(text)
    if match is None:
        return None
    labelled = [m.group(0) for m in _LABELLED_LINE.finditer(text[match.start() :])]
    return split_roles("；".join(labelled))


def find_prose_units(text: str) -> list[str]:
    """Units a sentence makes responsible: "建管部门要…", "镇安委会负责…", "X、Y等机构要…"."""
    found: list[str] = []
    plain = text.replace(BREAK_MARK, "")
    for match in _PROSE_DUTY.finditer(plain):
        subject = match.group(1).strip()
        if _NOT_SUBJECT.match(subject):
            continue
        if re.match(r"[，,]?\s*是", plain[match.end() :]):
            continue  # "各有关部门和单位分工负责，是搞好…的关键": what a principle says, no duty
        names = split_units(subject)
        if names and all(_is_prose_unit(n) for n in names):
            found.extend(names)
    return _unique(found)


def _is_prose_unit(name: str) -> bool:
    if not looks_like_unit(name) or len(name) > 14:
        return False
    return (
        bool(re.match(_NAME_START, name))
        or len(name) <= 6
        or name.endswith(("部门", "单位", *_BODY))
    )
