"""Duties at clause level: who a time phrase belongs to, read from its own clause.

A numbered item can hold several duties with different owners ("2024年5月底前，下发…汇编。
2024年底前，镇安委会相关成员单位要…组织培训"). The owner of a time phrase is the actor of its
clause, wherever the sentence puts it (../shared/PRACTICE.md §1):

- after a leading time: "2024年4月中旬，镇安委会有关成员单位按照…制定…";
- as the subject before the verb: "各村居、各部门明确专人负责，…，每月26日前向镇安委办报送…";
- before the time in the same clause: "各区每月26日前报送…";
- as the object of 推动/督促/指导 when the object is itself a unit: "推动各村居、重点行业部门开展…";
- "由X负责/牵头", "X牵头，Y配合".

Regulated parties (生产经营单位, 企业) are never owners: the office chases the units that
supervise them. The rules are general (name endings, cue words), never the units of one plan.
"""

from __future__ import annotations

import re

from intake.units import PLACE_KINDS, looks_like_unit, split_units

_SENTENCE_STOP = "。；;！？!?\n"
_CLAUSE_STOP = "，,：:"
# What may follow an actor: a role, a modal, or the verb of the duty.
_PREDICATE = re.compile(
    r"^(?:等(?:部门|单位|机构)?|分别|(?:都|均|一定)?(?:要|应|须|必须|需)|负责|牵头|主责|配合|协助|参与|协同|按照|按|根据|依据|"
    r"自|从|"
    r"结合|围绕|聚焦|针对|对|在|于|向|会同|联合|共同|制定|制订|开展|组织|做好|落实|推进|推动|建立|"
    r"完善|完成|明确|加强|加大|强化|抓好|督促|指导|及时|切实|认真|全面|积极|统筹|定期|持续|深入|"
    r"进一步|每|具体|严格|提供|召开|报送|上报|编制|印发|出台|"
    r"研究|部署|实施|启动|梳理|排查|检查|培育|培树|总结|形成|健全|组成|将|\d)"
)
_DELEGATE = re.compile(r"^(?:推动|督促|指导|要求|动员|引导|组织|协调)")
_LEADING = re.compile(
    r"^(?:[一二三四五六七八九十]{1,3}\s*、|[（(][一二三四五六七八九十\d]{1,3}[）)]|\d{1,3}\s*[.．、](?!\d))?"
    r"\s*(?:同时|并且|并|此外|另外|其中|其次|今年|全年|请|(?:此|该|这)项(?:工作|任务|活动))?"
)
_LEAD_ROLE = re.compile(r"^(?:等(?:部门|单位|机构)?)?(?:分别)?(?:牵头|负责|主责)")
_SUPPORT_ROLE = re.compile(r"^(?:等(?:部门|单位|机构)?)?(?:分别)?(?:配合|协助|参与|协办|协同)")
_BY = re.compile(
    r"^由(.{2,40}?)(?:共同|分别)?(?:负责|牵头|组织|承担|统筹|实施|部署|对|开展|进行|做好|完成|会同)"
)
# After a name's head, these go on with the name or the list ("各部|门", "各部门|、街镇").
_CUT_NAME = re.compile(r"[、，,（(和及与门局委办部所站队心会组府司院处室科]")
# A place as a whole ("全镇安全发展水平…") is where, not who.
_SCOPE = re.compile(r"^(?:全|本)")
# "镇党委政府主要负责人…": a person of the unit acts; the unit is the one to chase.
_PERSON = re.compile(
    r"^(?:主要|副)?(?:负责人|负责同志|领导|书记|干部|同志|分管|区长|市长|县长|镇长|局长|主任)"
)
# The whole person phrase, to find the predicate after it ("…主要负责人作为第一责任人，要…").
_PERSON_PHRASE = re.compile(
    r"^(?:主要|副|分管\S{0,10}?的?)?(?:负责人|负责同志|领导(?:干部|班子)?|书记|主任|"
    r"[区市县镇乡局]长)(?:(?:和|及|、)(?:班子成员|其他\S{0,4}成员|分管领导))?"
    r"(?:作为\S{2,30}?(?:第一)?责任人[，,]?)?"
)
# The name's last character and the next one make a verb ("区维稳综治办组|织人员"): the name ended before.
_CUT_VERB = re.compile(r"组织|组成|办理|会同|部署|处理|处置|委托|站在|心中")
# Offices with long names ("市政府民生实事工作推进领导小组办公室").
_OFFICE_END = ("办公室", "领导小组", "指挥部", "委员会", "工作专班")
# A remark in brackets between the actor and its verb ("…成员单位（详见任务分工）要…").
_REMARK = re.compile(r"^\s*[（(][^（）()]{2,20}[）)]")
# Parties a plan regulates rather than units it chases.
_REGULATED = re.compile(r"生产经营单位|企业|企事业|经营主体|市场主体|商户|从业人员|个人|群众")
# "各负有安全生产监管职责的部门": a described group of units.
_DESCRIBED = re.compile(r"^(?:各|有关|相关|所有|其他)\S{1,20}的\S{0,6}(?:部门|单位|机构)$")
# Words no unit's name holds: a span with one of them ran past the name into the sentence.
_INNER_VERB = re.compile(
    r"按照|根据|(?<![主重需])要|负责(?!人)|牵头(?!单位|部门)|配合(?!单位|部门)|带队|开展|制定|落实|加强|推进|"
    r"组织|明确|做好|召开|组成(?!部门)|"
    r"印发|下发|报送|每|对|向|将|把|[“”\"《》\d]"
)
_INNER_MARK = re.compile(r"(?<![主重需])要|对|向|将|把|每|[“”\"《》\d]")
_NAME_START = re.compile(
    r"^(?:省|市|区|县|镇|乡|街|各|全|有关|相关|其他|所有|本|上海|团|民航|中国|国家)"
)
_VERB_START = re.compile(
    r"^(?:按照|根据|由|对|在|将|把|向|经|通过|结合|围绕|以|为|加强|推动|打造|开展|建立|完善|"
    r"推进|落实|组织|制定|下发|印发|实现|提升|强化|深化|持续|全面|积极|进一步|确保|做好|总结)"
)

Units = tuple[list[str], list[str]]


def clause_units(text: str, start: int, end: int) -> Units:
    """(lead, support) of the clause holding ``text[start:end]``, or two empty lists."""
    begin = max(text.rfind(ch, 0, start) for ch in _SENTENCE_STOP) + 1
    stops = [i for i in (text.find(ch, end) for ch in _SENTENCE_STOP) if i >= 0]
    sentence = text[begin : min(stops, default=len(text))]
    chunks = _chunks(sentence)
    at = start - begin
    k = next((i for i, (s, e, _) in enumerate(chunks) if s <= at < e), 0)
    chunk_start, _, chunk = chunks[k]
    before = chunk[: at - chunk_start]
    # "动员部署阶段（5月） 各县…": a time in brackets, the subject after them
    after = chunk[at - chunk_start + (end - start) :].lstrip("前内起，, ）)\u3000")
    candidates = [before] if before.strip() else []
    candidates.append(after if after else (chunks[k + 1][2] if k + 1 < len(chunks) else ""))
    candidates += [chunks[j][2] for j in range(k - 1, -1, -1)]
    for candidate in candidates:
        found = actors_of(candidate)
        if found[0] or found[1]:
            return _with_partners(found, chunks)
    return [], []


def _chunks(sentence: str) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    last = 0
    for i, ch in enumerate(sentence + "，"):
        if ch in _CLAUSE_STOP or i == len(sentence):
            out.append((last, i + 1, sentence[last:i]))
            last = i + 1
    return out


def _with_partners(found: Units, chunks: list[tuple[int, int, str]]) -> Units:
    """Add the sentence's other role clauses: "X牵头，Y配合" gives X lead and Y support."""
    lead, support = list(found[0]), list(found[1])
    for _, _, chunk in chunks:
        names, role = _subject(chunk.strip())
        if role == "support":
            support += [n for n in names if n not in lead and n not in support]
        elif role == "named lead":
            lead += [n for n in names if n not in lead]
    return lead, [n for n in support if n not in lead]


def sentence_actors(text: str) -> Units:
    """The first actors named in the first sentence of ``text`` ("按照…，各地、各有关部门聚焦…")."""
    first = re.split(f"[{_SENTENCE_STOP}]", text, maxsplit=1)[0]
    for _, _, chunk in _chunks(first):
        found = actors_of(chunk)
        if found[0] or found[1]:
            return found
    return [], []


def actors_of(clause: str) -> Units:
    """The actors a clause opens with: "X要…", "X、Y按照…", "由X负责…", "推动X开展…"."""
    clause = _LEADING.sub("", clause.strip(" \u3000“”\"'"))
    by = _BY.match(clause)
    if by:
        names = _names(by.group(1))
        return (names, []) if names else ([], [])
    delegated = _DELEGATE.match(clause)
    if delegated:
        names, role = _subject(clause[delegated.end() :], need_predicate=True)
    else:
        names, role = _subject(clause)
    if not names:
        return [], []
    return ([], names) if role == "support" else (names, [])


def _subject(clause: str, *, need_predicate: bool = False) -> tuple[list[str], str]:
    """The longest unit list the clause opens with, followed by a predicate; and its role."""
    if _VERB_START.match(clause):
        return [], ""
    best: tuple[list[str], str] = ([], "")
    for i in range(2, min(len(clause), 60) + 1):
        head, rest = clause[:i], clause[i:]
        placed = PLACE_KINDS.search(head) is not None  # "各县（市、区）" then the verb
        if not looks_like_unit(head[-4:]) and not head.endswith(("部门", "单位")) and not placed:
            continue
        if PLACE_KINDS.match(rest[: rest.find("）") + 1] or rest[: rest.find(")") + 1]):
            continue  # the name goes on with its kinds of place
        rest = _REMARK.sub("", rest)
        if not rest and need_predicate:
            continue
        names = _names(head)
        if names and _PERSON.match(rest):
            return _person_of(names, rest)
        if not names or (rest and not (_PREDICATE.match(rest) or _plainly_named(names, rest))):
            continue
        if rest or all(len(n) <= 10 or _DESCRIBED.match(n) for n in names):
            best = (names, _role(rest))  # a whole clause as the actor: a short name or a group
    return best


def _person_of(names: list[str], rest: str) -> tuple[list[str], str]:
    """ "镇党委政府主要负责人每季度…召开", "各级各部门主要负责人作为第一责任人，要…": the
    person acts for the unit, which is chased (as lead) when the sentence goes on to a duty."""
    person = _PERSON_PHRASE.match(rest)
    if not person or not all(_NAME_START.match(n) and not _SCOPE.match(n) for n in names):
        return [], ""
    after = _REMARK.sub("", rest[person.end() :])
    return (names, "lead") if _PREDICATE.match(after) else ([], "")


def _plainly_named(names: list[str], rest: str) -> bool:
    """Short names of a place's offices ("区安办调度汇总…", "各地、各部门“一把手”亲自抓",
    "各单位国庆期间值班表请于…") are the actor whatever verb follows."""
    if _VERB_START.match(rest) or _CUT_NAME.match(rest):
        return False
    if any(_CUT_VERB.match(n[-1] + rest[:1]) for n in names[-1:]):
        return False
    return all(_NAME_START.match(n) and not _SCOPE.match(n) and len(n) <= 8 for n in names)


def _role(rest: str) -> str:
    """ "support" after 配合/协助, "named lead" after 牵头/负责, else "lead" (the subject)."""
    if _SUPPORT_ROLE.match(rest):
        return "support"
    return "named lead" if _LEAD_ROLE.match(rest) else "lead"


def _names(text: str) -> list[str]:
    """Split a unit list (、，及/和 between two names); every piece must be a unit to chase."""
    pieces = split_units(text)
    if not pieces or not all(_is_actor(p) for p in pieces):
        return []
    return pieces


def _is_actor(name: str) -> bool:
    if _REGULATED.search(name) or _VERB_START.match(name) or len(name) > 24:
        return False
    office = name.endswith(_OFFICE_END)  # "…工作推进领导小组办公室": verbs inside its name
    if (_INNER_MARK if office else _INNER_VERB).search(name):
        return False
    if _DESCRIBED.match(name):
        return True
    longest = 24 if name.endswith(_OFFICE_END) else 14
    return looks_like_unit(name) and not _PREDICATE.match(name) and len(name) <= longest
