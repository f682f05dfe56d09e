"""YAML read with a budget: aliases count as what they repeat, so "billion laughs" is refused.

PyYAML's safe loader shares an aliased node instead of copying it, so a ten-line file of nested
aliases loads at once, then hangs or exhausts memory in whatever walks the result (a directory's
group members, a policy's rules). Offices' files do use anchors (PyYAML's own dump writes
`&id001`), so they are allowed, but the whole document, aliases expanded, may hold at most
`budget` values. Pure: text in, data out.
"""

from __future__ import annotations

from typing import Any

import yaml

DEFAULT_BUDGET = 200_000


class YamlTooLarge(yaml.MarkedYAMLError):
    """The document would expand past its budget (named with the line of the alias)."""


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, stream: str, budget: int) -> None:
        super().__init__(stream)
        self.budget = budget
        self.spent = 0
        self.sizes: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            node = self.anchors.get(event.anchor)
            if node is not None:
                self._spend(_size(node, self.sizes), event.start_mark)
        else:
            self._spend(1, None)
        return super().compose_node(parent, index)

    def _spend(self, count: int, mark: Any) -> None:
        self.spent += count
        if self.spent > self.budget:
            raise YamlTooLarge(
                problem=f"内容展开后超过 {self.budget} 个值（锚点/别名嵌套过深，疑似“YAML 炸弹”）",
                problem_mark=mark or self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )


def _size(node: Any, sizes: dict[int, int]) -> int:
    """Values under `node`, aliases expanded (memoised: a bomb's levels are shared)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_size(k, sizes) + _size(v, sizes) for k, v in node.value)
    else:
        total = 1
    sizes[id(node)] = total
    return total


def load_bounded(text: str, budget: int = DEFAULT_BUDGET) -> Any:
    """`yaml.safe_load(text)`, refusing a document that expands past `budget` values."""
    loader = _BoundedLoader(text, budget)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise YamlTooLarge(problem="嵌套层数过深", problem_mark=None) from None
    except (ValueError, TypeError, OverflowError) as exc:  # "2024-13-45" read as a date, …
        raise yaml.MarkedYAMLError(
            problem=f"有无法识别的值，常见原因是写错的日期（如 2024-13-45；作为文字请加引号）：{exc}",
            problem_mark=None,
        ) from exc
    finally:
        loader.dispose()


def compose_bounded(text: str, budget: int = DEFAULT_BUDGET) -> Any:
    """`yaml.compose(text)` (nodes with their lines) under the same budget."""
    loader = _BoundedLoader(text, budget)
    try:
        return loader.get_single_node()
    except RecursionError:
        raise YamlTooLarge(problem="嵌套层数过深", problem_mark=None) from None
    finally:
        loader.dispose()
