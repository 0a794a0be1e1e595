"""Indicator tables as files: JSON, YAML and an Excel sheet in the report's 附件1 layout (pure; no Flask).

``load_table`` reads any of the three (by content or file name) and validates the result; every problem is
raised at once as ``IndicatorFormatError`` with its location: ``line 12`` (JSON/YAML syntax), ``附件1!D7`` or
``row 7`` (Excel), or the JSON path from ``validate_table``. ``dump_yaml`` and ``dump_xlsx`` write the same
table back; a round trip keeps every key, name, point, text, rule and input. Layout: ``docs/indicator-format.md``.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from analysis.indicators import (
    FORMAT,
    TableScore,
    iter_nodes,
    reason_text,
    rule_wording,
    shown_value,
    standard_text,
    validate_table,
)
from analysis.lazy import lazy_module
from analysis.scoring import N_, RULES, Wording, render
from survey.platform import xlsx_guard
from survey.platform.xlsx_guard import XlsxRefused, check_xlsx

openpyxl = lazy_module("openpyxl")
styles = lazy_module("openpyxl.styles")
xlsx_utils = lazy_module("openpyxl.utils")

SHEET = "附件1"
# (header, field, level): the printed columns of the 附件1 layout, then the technical ones (hidden, never
# printed) that let ``load_table`` read the sheet back into the same table.
COLUMNS = [
    ("一级指标", "name", 1),
    ("分值", "points", 1),
    ("二级指标", "name", 2),
    ("分值", "points", 2),
    ("三级指标", "name", 3),
    ("分值", "points", 3),
    ("指标说明", "explanation", 0),
    ("评分标准", "standard", 0),
    ("实际值", "shown", 0),
    ("得分", "score", 0),
    ("扣分原因", "reason", 0),
    ("评分规则", "rule", 0),
    ("规则参数", "params", 0),
    ("取值", "input", 0),
    ("一级编号", "key", 1),
    ("二级编号", "key", 2),
    ("三级编号", "key", 3),
    ("附加信息", "extra", 0),
]
VISIBLE = 11
# Column widths (characters) chosen so the printed columns fit A4 landscape at about 90 %.
WIDTHS = [9, 5, 11, 5, 14, 5, 38, 32, 11, 6, 18, 14, 24, 22, 8, 8, 8, 20]
LEAF_FIELDS = ("key", "name", "points", "explanation", "standard", "rule", "input")
PARENT_FIELDS = ("key", "name", "points", "children")
HEADER_NAMES = {"一级指标": 1, "二级指标": 2, "三级指标": 3}
TEXT_FIELDS = {"explanation", "standard"}
TABLE_KEYS = frozenset({"format", "title", "source", "decimals", "grades", "indicators"})
NODE_KEYS = frozenset({"key", "name", "points", "explanation", "standard", "children", "rule", "input", "note"})
RULE_KEYS = frozenset({"type", "params"})
GRADE_KEYS = frozenset({"grade", "min"})
MAX_TEXT_BYTES = 1024 * 1024  # a JSON table file; the largest library table is a few dozen KB
MAX_YAML_BYTES = 256 * 1024  # YAML parses at about 3 s of CPU per MB even with libyaml (JSON: 0.02 s)
MAX_STORED_BYTES = 256 * 1024  # the JSON stored for a project's table, read on every project page
MAX_DEPTH = 20  # containers inside containers; a table with rule parameters nests about 11 deep
# An .xlsx table is loaded in full by openpyxl (merged cells are read), so it is bounded more tightly than
# a response export (``survey.platform.xlsx_guard``): the library's tables have a few hundred cells.
XLSX_MAX_UNPACKED = 8 * 1024 * 1024
XLSX_MAX_STRINGS = 20_000
XLSX_MAX_MARKUP = 1_000_000
XLSX_MAX_RANGE_CELLS = 200_000  # merged and linked ranges together, the sheet's dimension included
MAX_SHEET_ROWS = 5_000
MAX_SHEET_COLUMNS = 100
FONT_SIZE = 10  # points, body cells
LINE_HEIGHT = 14  # points per wrapped line at FONT_SIZE (CJK fonts run tall)


class IndicatorFormatError(ValueError):
    """A table file that cannot be used; ``problems`` is every ``(location, Wording)``."""

    def __init__(self, problems: list[tuple[str, Wording]]):
        self.problems = problems
        super().__init__("; ".join(f"{where}: {say_plain(wording)}" for where, wording in problems))


def say_plain(wording: Wording | str) -> str:
    """The Chinese text of a wording (the CLI and logs; the desk translates with ``say``)."""
    return render(wording)


def _problem(where: str, message: str, **values: Any) -> tuple[str, Wording]:
    return where, Wording(message, values)


# ---------------------------------------------------------------- loading


def load_table(data: bytes, filename: str = "") -> dict:
    """A validated table from JSON, YAML or XLSX bytes; raises ``IndicatorFormatError`` with every problem.

    Bounded before and after parsing: the text's size (``MAX_TEXT_BYTES``; ``MAX_YAML_BYTES`` for YAML,
    which parses a hundred times slower than JSON), YAML anchors and aliases
    (refused: a 23 KB file of aliases expanded to 66 MB), nesting depth (``MAX_DEPTH``), fields the format
    does not know (named, with where they are), and the size of the JSON that would be stored
    (``MAX_STORED_BYTES``), since every project page reads it.
    """
    name = filename.lower()
    if data[:4] == b"PK\x03\x04" or name.endswith(".xlsx"):
        try:
            table, rows = _load_xlsx(data)
        except RecursionError:  # a JSON cell (规则参数, 取值, 附加信息) nested thousands deep
            raise _too_deep() from None
    else:
        limit = MAX_YAML_BYTES if name.endswith((".yaml", ".yml")) else MAX_TEXT_BYTES
        if len(data) > limit:
            raise IndicatorFormatError(
                [_problem("$", N_("文件超过 %(n)d KB，不像是一张指标评分表。"), n=limit // 1024)]
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IndicatorFormatError([_problem("$", N_("文件不是 UTF-8 编码的文本。"))]) from None
        table, rows = (_load_yaml(text) if name.endswith((".yaml", ".yml")) else _load_json(text)), {}
    check_bounds(table, rows)
    problems = [p for p in validate_table(table) if not p.warning]
    if problems:
        raise IndicatorFormatError([(_locate(table, p.path, rows), p.wording) for p in problems])
    return table


def _too_deep() -> IndicatorFormatError:
    return IndicatorFormatError([_problem("$", N_("嵌套超过 %(n)d 层，不像是一张指标评分表。"), n=MAX_DEPTH)])


def _depth(value: Any) -> int:
    """How deep containers nest in ``value`` (iteratively: a deep value must not exhaust the stack here)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _load_json(text: str) -> Any:
    try:
        table = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise IndicatorFormatError(
            [_problem(f"line {error.lineno}", N_("JSON 格式错误：%(error)s"), error=error.msg)]
        ) from None
    except RecursionError:
        raise _too_deep() from None
    if _depth(table) > MAX_DEPTH:
        raise _too_deep()
    return table


def _refuse_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are no JSON, and no table has a use for them."""
    raise json.JSONDecodeError(f"{name} is not a number JSON allows", name, 0)


class BoundedLoader(yaml.SafeLoader):
    """YAML's safe loader without anchors and aliases, and with a nesting depth cap.

    Anchors and aliases are refused as the parser meets them, before any node is composed: an alias
    repeats a whole subtree, so nine levels of ten aliases each make a billion nodes from a few lines.
    No indicator table needs them (``dump_yaml`` never writes them).
    """

    def __init__(self, stream):
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent, index):
        """Refuse an anchor or alias, or one level too many, before composing the node."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlRefused("alias", event.start_mark)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise YamlRefused("depth", event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class YamlRefused(yaml.YAMLError):
    """What ``BoundedLoader`` refuses (``reason``: ``alias`` or ``depth``), with where it is."""

    def __init__(self, reason: str, mark):
        super().__init__(reason)
        self.reason = reason
        self.mark = mark


FAST_LOADER = getattr(yaml, "CSafeLoader", None)  # libyaml's parser: the pure-Python one takes 13 s per MB


def _check_events(text: str) -> None:
    """``BoundedLoader``'s refusals, from libyaml's events (before anything is composed): an anchor or
    alias, or containers nested past ``MAX_DEPTH``."""
    depth = 0
    for event in yaml.parse(text, Loader=FAST_LOADER):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlRefused("alias", event.start_mark)
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlRefused("depth", event.start_mark)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def _load_yaml(text: str) -> Any:
    try:
        if FAST_LOADER is None:
            return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 - a SafeLoader subclass
        _check_events(text)
        return yaml.load(text, Loader=FAST_LOADER)  # noqa: S506 - the safe loader, with no aliases (checked)
    except YamlRefused as refused:
        where = f"line {refused.mark.line + 1}"
        if refused.reason == "alias":
            message = N_("YAML 中不允许使用锚点和别名（& 和 *），请把内容直接写出来。")
            raise IndicatorFormatError([_problem(where, message)]) from None
        raise IndicatorFormatError(
            [_problem(where, N_("嵌套超过 %(n)d 层，不像是一张指标评分表。"), n=MAX_DEPTH)]
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "$"
        detail = getattr(error, "problem", None) or str(error)
        raise IndicatorFormatError([_problem(where, N_("YAML 格式错误：%(error)s"), error=detail)]) from None


# ---------------------------------------------------------------- bounds


def check_bounds(table: Any, rows: dict[int, tuple[str, int]] | None = None) -> None:
    """Raise ``IndicatorFormatError`` for fields the format does not know, or a table too big to store.

    Unknown fields are refused rather than kept: the table is stored and read on every project page,
    so what it holds should be what the format defines (``docs/indicator-format.md``).
    """
    if not isinstance(table, dict):
        return
    if _depth(table) > MAX_DEPTH:
        raise _too_deep()
    problems = [(_locate(table, path, rows or {}), wording) for path, wording in unknown_fields(table)]
    if problems:
        raise IndicatorFormatError(problems)
    check_stored_size(table)


def _unknown(value: Any, known: frozenset[str], path: str) -> list[tuple[str, Wording]]:
    if not isinstance(value, dict):
        return []
    extra = [str(k) for k in value if k not in known]
    if not extra:
        return []
    return [_problem(path, N_("不认识的字段：%(fields)s。"), fields="、".join(extra[:20]))]


def unknown_fields(table: dict) -> list[tuple[str, Wording]]:
    """``(path, wording)`` for every table, node, rule and grade with fields the format does not define."""
    found = _unknown(table, TABLE_KEYS, "$")
    nodes = table.get("indicators")
    if isinstance(nodes, list):
        found += _unknown_in_nodes(nodes, "indicators")
    grades = table.get("grades")
    if isinstance(grades, list):
        for index, grade in enumerate(grades):
            found += _unknown(grade, GRADE_KEYS, f"grades[{index}]")
    return found


def _unknown_in_nodes(nodes: list, path: str) -> list[tuple[str, Wording]]:
    found = []
    for index, node in enumerate(nodes):
        where = f"{path}[{index}]"
        found += _unknown(node, NODE_KEYS, where)
        if not isinstance(node, dict):
            continue
        found += _unknown(node.get("rule"), RULE_KEYS, f"{where}.rule")
        children = node.get("children")
        if isinstance(children, list):
            found += _unknown_in_nodes(children, f"{where}.children")
    return found


def stored_size(table: Any) -> int:
    """How many bytes the table takes as the JSON stored for the project (``ValueError`` if it is no JSON)."""
    try:
        return len(json.dumps(table, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as error:
        raise ValueError(str(error)) from None


def check_stored_size(table: Any) -> None:
    """Raise ``IndicatorFormatError`` when the table is not plain JSON or over ``MAX_STORED_BYTES``."""
    try:
        size = stored_size(table)
    except ValueError:
        message = N_("指标表含有无法保存的值（如日期、NaN 或无穷大），请改写为数字或文字。")
        raise IndicatorFormatError([_problem("$", message)]) from None
    if size > MAX_STORED_BYTES:
        message = N_("指标表保存后有 %(size)d KB，超过上限 %(n)d KB。请删去多余的内容。")
        raise IndicatorFormatError([_problem("$", message, size=size // 1024, n=MAX_STORED_BYTES // 1024)])


def _locate(table: Any, path: str, rows: dict[int, tuple[str, int]]) -> str:
    """A validation path, with the sheet row of its node for tables read from Excel."""
    if not rows or not isinstance(table, dict) or not isinstance(table.get("indicators"), list):
        return path
    best = None
    for node, where, _level in iter_nodes([n for n in table["indicators"] if isinstance(n, dict)]):
        if (path == where or path.startswith(where + ".")) and id(node) in rows:
            best = rows[id(node)]
    if best is None:
        return path
    sheet, row = best
    return f"{sheet}!row {row} ({path})"


def _cell_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return value
    if value is None or str(value).strip() == "":
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite():
        raise ValueError(value)
    return int(number) if number == number.to_integral_value() and "." not in str(value) else float(str(number))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def _check_archive(data: bytes) -> None:
    """Refuse an archive that would cost openpyxl too much before it unpacks it (too big, too many strings,
    too much markup in a part, merged ranges too large); other damage is openpyxl's to name."""
    try:
        check_xlsx(
            data,
            min(XLSX_MAX_UNPACKED, xlsx_guard.MAX_UNPACKED),
            max_strings=XLSX_MAX_STRINGS,
            max_markup=XLSX_MAX_MARKUP,
            max_range_cells=XLSX_MAX_RANGE_CELLS,
        )
    except XlsxRefused as refused:
        if refused.reason == "too_big":
            raise IndicatorFormatError([("$", xlsx_refusal(refused))]) from None


def xlsx_refusal(refused: XlsxRefused) -> Wording:
    """Which bound of ``survey.platform.xlsx_guard`` an upload passed, in words (shared with the XLSForm import)."""
    if refused.what == "strings":
        return Wording(N_("这个 XLSX 文件含有超过 %(n)d 个不同的文字（共享字符串），无法导入。"), {"n": refused.limit})
    if refused.what == "markup":
        message = N_("这个 XLSX 文件的“%(part)s”部分超过 %(n)d 个 XML 标记，无法导入。请删去多余的内容。")
        return Wording(message, {"part": refused.part, "n": refused.limit})
    if refused.what == "cells":
        message = N_("这个 XLSX 文件的合并单元格或链接范围共超过 %(n)d 个单元格，无法导入。")
        return Wording(message, {"n": refused.limit})
    message = N_("这个 XLSX 文件解压后超过 %(n)d MB，无法导入。请删去多余的工作表或分成几个文件。")
    return Wording(message, {"n": max(1, (refused.limit or xlsx_guard.MAX_UNPACKED) // (1024 * 1024))})


def _load_xlsx(data: bytes) -> tuple[dict, dict[int, tuple[str, int]]]:  # noqa: C901 - one pass over the sheet
    _check_archive(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable workbook is a format problem
        raise IndicatorFormatError([_problem("$", N_("无法读取 Excel 文件：%(error)s"), error=str(error))]) from None
    ws = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
    sheet = ws.title
    if ws.max_row > MAX_SHEET_ROWS or ws.max_column > MAX_SHEET_COLUMNS:  # each row is read cell by cell below
        message = N_("工作表“%(sheet)s”超过 %(rows)d 行或 %(columns)d 列，不像是一张指标评分表。")
        raise IndicatorFormatError(
            [_problem(f"{sheet}!A1", message, sheet=sheet, rows=MAX_SHEET_ROWS, columns=MAX_SHEET_COLUMNS)]
        )
    merged = {}
    for cells in ws.merged_cells.ranges:  # their cells together are bounded by the guard (XLSX_MAX_RANGE_CELLS)
        top = ws.cell(cells.min_row, cells.min_col).value
        for r in range(cells.min_row, min(cells.max_row, ws.max_row) + 1):
            for c in range(cells.min_col, min(cells.max_col, ws.max_column) + 1):
                merged[(r, c)] = top

    def value(r: int, c: int) -> Any:
        return merged[(r, c)] if (r, c) in merged else ws.cell(r, c).value

    header_row, columns = None, {}
    for r in range(1, min(ws.max_row, 10) + 1):
        texts = [str(value(r, c) or "").strip() for c in range(1, ws.max_column + 1)]
        if "一级指标" in texts:
            header_row, level = r, 0
            for c, text in enumerate(texts, start=1):
                if text in HEADER_NAMES:
                    level = HEADER_NAMES[text]
                    columns[("name", level)] = c
                elif text == "分值" and level:
                    columns.setdefault(("points", level), c)
                else:
                    for header, fieldname, lvl in COLUMNS:
                        if text == header and fieldname not in ("name", "points"):
                            columns.setdefault((fieldname, lvl), c)
            break
    if header_row is None:
        raise IndicatorFormatError([_problem(f"{sheet}!A1", N_("找不到表头：第一列应为“一级指标”。"))])

    def at(fieldname: str, level: int, r: int) -> Any:
        c = columns.get((fieldname, level))
        return None if c is None else value(r, c)

    def where(fieldname: str, level: int, r: int) -> str:
        c = columns.get((fieldname, level))
        return f"{sheet}!{xlsx_utils.get_column_letter(c)}{r}" if c else f"row {r}"

    table: dict[str, Any] = {"format": FORMAT}
    title = _text(value(header_row - 1, 1)) if header_row > 1 else None
    meta_text = at("extra", 0, header_row - 1) if header_row > 1 else None
    problems: list[tuple[str, Wording]] = []
    if meta_text:
        try:
            meta = json.loads(meta_text)
            if not isinstance(meta, dict):
                raise ValueError(meta_text)
            table.update(meta)
        except ValueError:
            problems.append(_problem(where("extra", 0, header_row - 1), N_("附加信息必须是一个 JSON 对象。")))
    if title is not None:
        table["title"] = title
    indicators: list[dict] = []
    table["indicators"] = indicators
    rows: dict[int, tuple[str, int]] = {}
    extras: dict[str, dict] = {}
    chain: list[dict | None] = [None, None, None, None]
    chain_ids: list[tuple | None] = [None, None, None, None]
    leaf_ids: set[int] = set()
    for r in range(header_row + 1, ws.max_row + 1):
        names = {lvl: _text(at("name", lvl, r)) for lvl in (1, 2, 3)}
        keys = {lvl: _text(at("key", lvl, r)) for lvl in (1, 2, 3)}
        if names[1] in ("总分", "评价等级") and not keys[1]:
            break
        depth = max((lvl for lvl in (1, 2, 3) if names[lvl] or keys[lvl]), default=0)
        if depth == 0:
            continue
        reuse = True
        broken = False
        for lvl in range(1, depth + 1):
            ident = (keys[lvl], names[lvl]) if keys[lvl] else (None, names[lvl])
            if lvl < depth and reuse and chain_ids[lvl] == ident and chain[lvl] is not None:
                if id(chain[lvl]) in leaf_ids:
                    problems.append(
                        _problem(
                            where("name", lvl, r), N_("“%(name)s”已是末级指标，不能再有下级指标。"), name=names[lvl]
                        )
                    )
                    broken = True
                    break
                continue
            reuse = False
            if not names[lvl] and not keys[lvl]:
                problems.append(_problem(where("name", lvl, r), N_("缺少上级指标名称。")))
                broken = True
                break
            node: dict[str, Any] = {}
            if keys[lvl]:
                node["key"] = keys[lvl]
            if names[lvl] is not None:
                node["name"] = names[lvl]
            try:
                points = _cell_number(at("points", lvl, r))
            except ValueError:
                problems.append(
                    _problem(where("points", lvl, r), N_("分值“%(value)s”不是数字。"), value=at("points", lvl, r))
                )
                points = None
            if points is not None:
                node["points"] = points
            siblings = indicators if lvl == 1 else chain[lvl - 1].setdefault("children", [])
            siblings.append(node)
            rows[id(node)] = (sheet, r)
            chain[lvl], chain_ids[lvl] = node, ident
            for deeper in range(lvl + 1, 4):
                chain[deeper], chain_ids[deeper] = None, None
            if lvl == depth:
                leaf_ids.add(id(node))
                problems.extend(_read_leaf(node, r, at, where))
        if broken:
            continue
        extra = at("extra", 0, r)
        if extra:
            try:
                parsed = json.loads(extra)
                if not isinstance(parsed, dict) or not all(isinstance(v, dict) for v in parsed.values()):
                    raise ValueError(extra)
                for key, fields in parsed.items():
                    extras.setdefault(key, {}).update(fields)
            except ValueError:
                problems.append(_problem(where("extra", 0, r), N_("附加信息必须是一个 JSON 对象。")))
    if problems:
        raise IndicatorFormatError(problems)
    _finish(indicators, extras)
    return table, rows


def _read_leaf(node: dict, r: int, at, where) -> list[tuple[str, Wording]]:
    problems = []
    text = at("explanation", 0, r)
    if text is not None and str(text) != "":
        node["explanation"] = text if isinstance(text, str) else str(text)
    rule_type = _text(at("rule", 0, r))
    if rule_type is not None:
        rule_type = rule_type.strip()
        if rule_type not in RULES:
            problems.append(
                _problem(
                    where("rule", 0, r),
                    N_("不认识的评分规则“%(value)s”（可用：%(types)s）。"),
                    value=rule_type,
                    types="、".join(RULES),
                )
            )
        rule: dict[str, Any] = {"type": rule_type}
        params = _text(at("params", 0, r))
        if params is not None:
            try:
                rule["params"] = json.loads(params)
                if not isinstance(rule["params"], dict):
                    raise ValueError(params)
            except ValueError:
                problems.append(_problem(where("params", 0, r), N_("规则参数必须是一个 JSON 对象。")))
        node["rule"] = rule
    _read_standard(node, at("standard", 0, r))
    raw = at("input", 0, r)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        node["input"] = {"value": raw}
    elif _text(raw) is not None:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, int | float) and not isinstance(parsed, bool):
            parsed = {"value": parsed}
        if isinstance(parsed, dict):
            node["input"] = parsed
        else:
            problems.append(_problem(where("input", 0, r), N_("取值须是一个数字或一个 JSON 对象。")))
    return problems


def _read_standard(node: dict, text: Any) -> None:
    """The printed 评分标准 is the leaf's own ``standard`` unless it is just its rule in words (as written)."""
    if text is None or str(text) == "":
        return
    text = text if isinstance(text, str) else str(text)
    generated = rule_wording(node)
    if generated is not None and text.strip() == render(generated):
        return
    node["standard"] = text


def _finish(nodes: list[dict], extras: dict[str, dict]) -> None:
    """Parents without points get the sum of their children; extra fields go back on their nodes."""
    for node in nodes:
        children = node.get("children")
        if children:
            _finish(children, extras)
            if "points" not in node and all(isinstance(c.get("points"), int | float) for c in children):
                total = sum(Decimal(str(c["points"])) for c in children)
                node["points"] = int(total) if total == total.to_integral_value() else float(total)
        node.update(extras.get(node.get("key"), {}))


# ---------------------------------------------------------------- writing


def dump_yaml(table: dict) -> str:
    """The table as YAML (Chinese as is, keys in their order)."""
    return yaml.safe_dump(table, allow_unicode=True, sort_keys=False, width=1000)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _leaf_rows(nodes: list[dict], chain: list[dict]) -> list[tuple[list[dict], dict]]:
    rows = []
    for node in nodes:
        if node.get("children"):
            rows.extend(_leaf_rows(node["children"], [*chain, node]))
        else:
            rows.append(([*chain, node], node))
    return rows


def _count_leaves(node: dict) -> int:
    children = node.get("children") or []
    return sum(_count_leaves(c) for c in children) if children else 1


# Cell styles of the 附件1 sheet, in words both writers understand (openpyxl here, XlsxWriter in
# survey.reports.workbook_files).
STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "size": 14, "align": "center", "wrap": True},
    "header": {"bold": True, "size": FONT_SIZE, "align": "center", "wrap": True, "border": True, "fill": "DDEBF7"},
    "cell": {"size": FONT_SIZE, "wrap": True, "border": True},
    "cell_center": {"size": FONT_SIZE, "align": "center", "wrap": True, "border": True},
    "total": {"bold": True, "size": FONT_SIZE, "wrap": True, "border": True},
    "total_center": {"bold": True, "size": FONT_SIZE, "align": "center", "wrap": True, "border": True},
    # the hidden technical columns: wrapped, so their text never spills into a printed cell
    "technical": {"wrap": True},
}
CENTERED = (2, 4, 6, 9, 10)  # the 分值, 实际值 and 得分 columns


@dataclass
class SheetLayout:
    """The 附件1 sheet as data (1-based rows and columns), so both Excel writers draw the same sheet.

    ``cells`` maps ``(row, col)`` to ``(value, style)`` (``style`` a key of ``STYLES`` or None; a styled
    ``None`` is an empty bordered cell); ``merges`` are ``(first_row, first_col, last_row, last_col)``.
    The page is set up for printing: A4 landscape, fit to one page wide, the header row repeated on
    every page, only the printed columns in the print area, each row as tall as its wrapped text.
    """

    cells: dict[tuple[int, int], tuple[Any, str | None]] = field(default_factory=dict)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    widths: list[int] = field(default_factory=lambda: list(WIDTHS))
    hidden: range = range(VISIBLE + 1, len(COLUMNS) + 1)
    heights: dict[int, float] = field(default_factory=lambda: {1: 30})
    freeze: tuple[int, int] = (3, 1)  # the first cell below and right of the frozen panes (A3)
    repeat_rows: tuple[int, int] = (2, 2)  # printed at the top of every page
    print_area: tuple[int, int, int, int] = (1, 1, 2, VISIBLE)
    landscape: bool = True
    paper: int = 9  # A4
    fit_width: int = 1  # pages wide (and as many pages tall as it takes)
    margins: tuple[float, float, float, float] = (0.4, 0.4, 0.5, 0.5)  # left, right, top, bottom (inches)

    def put(self, row: int, col: int, value: Any) -> None:
        """Set a value, keeping the cell's style."""
        self.cells[(row, col)] = (value, self.cells.get((row, col), (None, None))[1])

    def style(self, row: int, col: int, style: str) -> None:
        self.cells[(row, col)] = (self.cells.get((row, col), (None, None))[0], style)


def text_width(text: str) -> float:
    """Width of a text in Excel's character units: a CJK character is about 1.7 digits wide (measured in
    LibreOffice's PDF of the sheet), a Latin letter or digit about one."""
    return sum(1.75 if ord(ch) > 0x2E7F else 1.0 for ch in text)


def lines_needed(value: Any, width: float) -> int:
    """How many wrapped lines a cell's value needs in a column ``width`` characters wide."""
    if value is None or value == "":
        return 1
    usable = max(width - 1.5, 1.0)
    return sum(max(1, math.ceil(text_width(part) / usable)) for part in str(value).split("\n"))


def row_height(lines: int) -> float:
    """Points for ``lines`` wrapped lines at the body font, with a little padding."""
    return round(lines * LINE_HEIGHT + 5, 1)


def attachment_layout(table: dict, score: TableScore | None = None) -> SheetLayout:
    """The 附件1 sheet: title, header, one row per leaf (一级/二级 cells merged), the total and the grade.

    The printed columns say everything in words (评分标准 from ``analysis.indicators.standard_text``, the
    actual value with its unit, the reason for any deduction); the hidden columns after them keep the
    keys, rule, parameters, input and any extra fields, so ``load_table`` reads the sheet back into the
    same table.
    """
    layout = SheetLayout()
    col = {(fieldname, level): index for index, (_h, fieldname, level) in enumerate(COLUMNS, start=1)}
    layout.put(1, 1, table.get("title") or "绩效评价指标体系及评分表")
    layout.style(1, 1, "title")
    layout.merges.append((1, 1, 1, VISIBLE))
    meta = {k: v for k, v in table.items() if k not in ("title", "indicators")}
    layout.put(1, col[("extra", 0)], _json(meta))
    for index, (header, _f, _l) in enumerate(COLUMNS, start=1):
        layout.cells[(2, index)] = (header, "header")
    layout.heights[2] = row_height(1)
    reasons = {d.key: d.reason for d in score.deductions} if score is not None else {}
    r = 3
    opened: dict[int, tuple[int, int, int]] = {}  # id(node) -> (first row, span, level) of its merged cells
    for chain, leaf in _leaf_rows(table.get("indicators") or [], []):
        extras = _write_chain(layout, col, r, chain, leaf, opened)
        _write_leaf(layout, col, r, leaf, score, reasons, extras)
        r += 1
    _write_totals(layout, col, r, table, score)
    _fit_heights(layout, opened, r)
    layout.print_area = (1, 1, r + 1, VISIBLE)
    return layout


def _write_chain(layout: SheetLayout, col: dict, r: int, chain: list[dict], leaf: dict, opened: dict) -> dict:
    """The keys of every level on this row, and the name and 分值 cells of the nodes that start here."""
    extras: dict[str, dict] = {}
    for level, node in enumerate(chain, start=1):
        layout.put(r, col[("key", level)], node.get("key"))
        is_leaf = node is leaf
        extra = {k: v for k, v in node.items() if k not in (LEAF_FIELDS if is_leaf else PARENT_FIELDS)}
        if is_leaf:
            extra.update(_unprintable(node))
        if id(node) in opened:
            continue
        span = 1 if is_leaf else _count_leaves(node)
        opened[id(node)] = (r, span, level)
        layout.put(r, col[("name", level)], node.get("name"))
        layout.put(r, col[("points", level)], node.get("points"))
        if extra:
            extras[str(node.get("key"))] = extra
        if span > 1:
            for fieldname in ("name", "points"):
                c = col[(fieldname, level)]
                layout.merges.append((r, c, r + span - 1, c))
    return extras


def _unprintable(leaf: dict) -> dict:
    """Leaf fields the printed columns cannot carry exactly (kept in 附加信息 instead)."""
    extra = {}
    explanation = leaf.get("explanation")
    if "explanation" in leaf and not (isinstance(explanation, str) and explanation):
        extra["explanation"] = explanation
    standard = leaf.get("standard")
    if "standard" in leaf and not (
        isinstance(standard, str) and standard and standard == standard.strip() and standard != _generated(leaf)
    ):
        extra["standard"] = standard
    rule = leaf.get("rule")
    if rule is not None and (not isinstance(rule, dict) or set(rule) - {"type", "params"}):
        extra["rule"] = rule
    return extra


def _generated(leaf: dict) -> str | None:
    wording = rule_wording(leaf)
    return None if wording is None else render(wording)


def _write_leaf(layout: SheetLayout, col: dict, r: int, leaf: dict, score, reasons: dict, extras: dict) -> None:
    key = leaf.get("key")
    if isinstance(leaf.get("explanation"), str) and leaf["explanation"]:
        layout.put(r, col[("explanation", 0)], leaf["explanation"])
    layout.put(r, col[("standard", 0)], standard_text(leaf) or None)
    rule = leaf.get("rule")
    if isinstance(rule, dict) and "rule" not in extras.get(str(key), {}):
        layout.put(r, col[("rule", 0)], rule.get("type"))
        if "params" in rule:
            layout.put(r, col[("params", 0)], _json(rule["params"]))
    if "input" in leaf:
        entry = leaf["input"]
        plain = isinstance(entry, dict) and set(entry) == {"value"} and isinstance(entry["value"], int | float)
        layout.put(r, col[("input", 0)], entry["value"] if plain else _json(entry))
    linked = score.linked.get(key) if score is not None else None
    layout.put(r, col[("shown", 0)], shown_value(leaf, linked) or None)
    if score is not None and score.scores.get(key) is not None:
        layout.put(r, col[("score", 0)], float(score.scores[key]))
    reason = reason_text(reasons[key]) if key in reasons else ""
    if reason:  # the evaluator's words, or the rule applied to the actual value: as on the desk and in the PDF
        layout.put(r, col[("reason", 0)], reason)
    if extras:
        layout.put(r, col[("extra", 0)], _json(extras))


def _write_totals(layout: SheetLayout, col: dict, r: int, table: dict, score: TableScore | None) -> None:
    """The 总分 row (一级 分值 total, score total) and the 评价等级 row, their middle cells merged."""
    total_points = sum((Decimal(str(n.get("points", 0))) for n in table.get("indicators") or []), Decimal(0))
    layout.put(r, 1, "总分")
    layout.put(r, col[("points", 1)], float(total_points) if total_points % 1 else int(total_points))
    layout.put(r + 1, 1, "评价等级")
    if score is not None:
        layout.put(r, col[("score", 0)], float(score.total))
        layout.put(r + 1, col[("score", 0)], score.grade or "")
        if not score.complete:
            layout.put(r, col[("reason", 0)], "部分指标尚未评分，总分只含已评分的指标。")
    for row in range(3, r + 2):
        total = "total" if row >= r else "cell"
        for c in range(1, VISIBLE + 1):
            layout.style(row, c, total + "_center" if c in CENTERED else total)
    for (row, c), (value, _style) in list(layout.cells.items()):
        if c > VISIBLE and row != 2 and value is not None:
            layout.style(row, c, "technical")
    layout.merges.append((r, 3, r, col[("shown", 0)]))
    layout.merges.append((r + 1, 1, r + 1, col[("shown", 0)]))


def _fit_heights(layout: SheetLayout, opened: dict, end: int) -> None:
    """Each row as tall as its most wrapped printed cell; a merged name taller than its rows stretches its last."""
    merged_starts = {(first, level) for first, span, level in opened.values() if span > 1}
    lines = {}
    for row in range(3, end + 2):
        needed = 1
        for c in range(1, VISIBLE + 1):
            level = next((lvl for (fieldname, lvl), index in _COLUMN_INDEX.items() if index == c and lvl), 0)
            if level and (row, level) in merged_starts:
                continue
            value = layout.cells.get((row, c), (None, None))[0]
            if c == 1 and row >= end:
                continue  # 总分/评价等级 labels sit in merged or short cells
            needed = max(needed, lines_needed(value, layout.widths[c - 1]))
        lines[row] = needed
    for first, span, level in opened.values():
        if span <= 1:
            continue
        for fieldname in ("name", "points"):
            c = _COLUMN_INDEX[(fieldname, level)]
            want = lines_needed(layout.cells.get((first, c), (None, None))[0], layout.widths[c - 1])
            have = sum(lines[row] for row in range(first, first + span))
            if want > have:
                lines[first + span - 1] += want - have
    for row, count in lines.items():
        layout.heights[row] = row_height(count)


_COLUMN_INDEX = {(fieldname, level): index for index, (_h, fieldname, level) in enumerate(COLUMNS, start=1)}


def _openpyxl_style(cell, spec: dict[str, Any]) -> None:
    """Apply one ``STYLES`` entry to an openpyxl cell."""
    thin = styles.Side(style="thin", color="000000")
    if spec.get("bold") or spec.get("size"):
        cell.font = styles.Font(bold=spec.get("bold", False), size=spec.get("size"))
    if spec.get("border"):
        cell.border = styles.Border(left=thin, right=thin, top=thin, bottom=thin)
    if spec.get("fill"):
        cell.fill = styles.PatternFill("solid", fgColor=spec["fill"])
    cell.alignment = styles.Alignment(wrap_text=spec.get("wrap"), vertical="center", horizontal=spec.get("align"))


def _openpyxl_page(ws, layout: SheetLayout) -> None:
    """Print setup: A4 landscape, one page wide, header row on every page, the printed columns only."""
    ws.page_setup.orientation = "landscape" if layout.landscape else "portrait"
    ws.page_setup.paperSize = layout.paper
    ws.page_setup.fitToWidth = layout.fit_width
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    left, right, top, bottom = layout.margins
    ws.page_margins.left, ws.page_margins.right, ws.page_margins.top, ws.page_margins.bottom = left, right, top, bottom
    ws.print_options.horizontalCentered = True
    ws.print_title_rows = f"{layout.repeat_rows[0]}:{layout.repeat_rows[1]}"
    first_row, first_col, last_row, last_col = layout.print_area
    ws.print_area = (
        f"{xlsx_utils.get_column_letter(first_col)}{first_row}:{xlsx_utils.get_column_letter(last_col)}{last_row}"
    )
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def dump_xlsx(table: dict, score: TableScore | None = None) -> bytes:
    """One sheet “附件1” (``attachment_layout``) as an .xlsx file, written with openpyxl."""
    layout = attachment_layout(table, score)
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = SHEET
    for (row, col), (value, style) in sorted(layout.cells.items()):
        cell = ws.cell(row, col, value)
        if style is not None:
            _openpyxl_style(cell, STYLES[style])
    for first_row, first_col, last_row, last_col in layout.merges:
        ws.merge_cells(start_row=first_row, start_column=first_col, end_row=last_row, end_column=last_col)
    for index, width in enumerate(layout.widths, start=1):
        ws.column_dimensions[xlsx_utils.get_column_letter(index)].width = width
    for index in layout.hidden:
        ws.column_dimensions[xlsx_utils.get_column_letter(index)].hidden = True
    for row, height in layout.heights.items():
        ws.row_dimensions[row].height = height
    ws.freeze_panes = ws.cell(*layout.freeze).coordinate
    _openpyxl_page(ws, layout)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def dump(table: dict, filename: str, score: TableScore | None = None) -> bytes:
    """The table in the format the file name asks for (.yaml/.yml, .xlsx, else JSON)."""
    name = filename.lower()
    if name.endswith((".yaml", ".yml")):
        return dump_yaml(table).encode("utf-8")
    if name.endswith(".xlsx"):
        return dump_xlsx(table, score)
    return (json.dumps(table, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


__all__ = [
    "STYLES",
    "IndicatorFormatError",
    "SheetLayout",
    "attachment_layout",
    "dump",
    "dump_xlsx",
    "dump_yaml",
    "load_table",
    "say_plain",
    "shown_value",
]
