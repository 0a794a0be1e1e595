"""Indicator-table import within bounds: no YAML anchors or aliases, no unknown fields, bounded depth and size."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from analysis.indicators import leaves
from survey.indicators import table_files as indicator_io
from survey.indicators.table_files import (
    MAX_DEPTH,
    MAX_STORED_BYTES,
    MAX_YAML_BYTES,
    IndicatorFormatError,
    dump_xlsx,
    dump_yaml,
    load_table,
    say_plain,
)
from survey.models import IndicatorTable
from survey.platform.extensions import db
from tests.conftest import unavailable
from tests.helpers import make_project

LIBRARY = Path(__file__).resolve().parent.parent / "analysis" / "indicator_library"


def library_table(stem: str = "seed_002_xinjian") -> dict:
    return json.loads((LIBRARY / f"{stem}.json").read_text(encoding="utf-8"))


def problems(error: IndicatorFormatError) -> list[tuple[str, str]]:
    return [(where, say_plain(wording)) for where, wording in error.problems]


def alias_bomb(levels: int = 5, fan: int = 10) -> bytes:
    """A valid table whose first leaf's ``note`` is a tree of aliases: ``fan ** levels`` strings from a few lines."""
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * fan) + "]")
    table = dump_yaml(library_table())
    first_leaf_key = "  - key: "  # the table's first node; the note goes beside its key
    return ("\n".join(lines) + "\n" + table.replace(first_leaf_key, f"  - note: *a{levels}\n    key: ", 1)).encode()


@pytest.fixture(params=["libyaml", "python"])
def yaml_parser(request, monkeypatch):
    """Both parsers: libyaml's (events checked first) and, where libyaml is missing, ``BoundedLoader``."""
    if request.param == "python":
        monkeypatch.setattr(indicator_io, "FAST_LOADER", None)
    elif indicator_io.FAST_LOADER is None:
        unavailable("PyYAML built without libyaml: the fast loader cannot be tested")
    return request.param


def test_yaml_anchors_and_aliases_are_refused_before_they_expand(yaml_parser):
    with pytest.raises(IndicatorFormatError) as caught:
        load_table(alias_bomb(), "bomb.yaml")
    (where, message), *_ = problems(caught.value)
    assert where == "line 1" and "锚点和别名" in message


def test_a_deep_alias_bomb_is_refused_too(yaml_parser):
    """Nine levels of ten aliases: a billion strings once expanded; refused at its first anchor."""
    with pytest.raises(IndicatorFormatError, match="锚点和别名"):
        load_table(alias_bomb(levels=9), "bomb.yml")


def test_a_plain_yaml_table_still_loads(yaml_parser):
    table = library_table()
    assert load_table(dump_yaml(table).encode(), "t.yaml") == table


def test_a_yaml_file_is_bounded_before_it_is_parsed():
    """YAML costs about 3 s of CPU per MB to parse, even with libyaml; no table comes near the bound."""
    table = library_table()
    assert len(dump_yaml(table).encode()) < MAX_YAML_BYTES // 10
    data = dump_yaml(table).encode() + b"# " + b"x" * MAX_YAML_BYTES + b"\n"
    with pytest.raises(IndicatorFormatError) as caught:
        load_table(data, "t.yml")
    assert problems(caught.value) == [("$", f"文件超过 {MAX_YAML_BYTES // 1024} KB，不像是一张指标评分表。")]


def test_unknown_fields_are_named_with_their_place():
    table = library_table()
    table["colour"] = "red"
    table["indicators"][0]["children"][0]["weight"] = 3
    table["indicators"][0]["children"][0].setdefault("rule", {})["hint"] = 1
    for data, name in (
        (json.dumps(table, ensure_ascii=False).encode(), "t.json"),
        (dump_yaml(table).encode(), "t.yaml"),
    ):
        with pytest.raises(IndicatorFormatError) as caught:
            load_table(data, name)
        found = problems(caught.value)
        assert ("$", "不认识的字段：colour。") in found
        assert ("indicators[0].children[0]", "不认识的字段：weight。") in found
        assert ("indicators[0].children[0].rule", "不认识的字段：hint。") in found


def test_unknown_fields_in_an_excel_table_name_the_row():
    table = library_table()
    leaves(table)[0]["weight"] = 3
    with pytest.raises(IndicatorFormatError) as caught:
        load_table(dump_xlsx(table), "t.xlsx")
    where, message = problems(caught.value)[0]
    assert where.startswith("附件1!row ") and "weight" in message


def test_the_stored_json_is_bounded():
    table = library_table()
    table["indicators"][0]["note"] = "说明" * (MAX_STORED_BYTES // 4)
    with pytest.raises(IndicatorFormatError) as caught:
        load_table(json.dumps(table, ensure_ascii=False).encode(), "t.json")
    size = len(json.dumps(table, ensure_ascii=False).encode()) // 1024
    assert size > MAX_STORED_BYTES // 1024
    assert problems(caught.value) == [
        ("$", f"指标表保存后有 {size} KB，超过上限 {MAX_STORED_BYTES // 1024} KB。请删去多余的内容。")
    ]


@pytest.mark.parametrize("name", ["t.json", "t.yaml"])
def test_nesting_is_bounded(name, yaml_parser):
    table = library_table()
    table["indicators"][0]["note"] = "x"
    text = json.dumps(table, ensure_ascii=False).replace('"note": "x"', '"note": ' + "[" * 30 + "]" * 30)
    with pytest.raises(IndicatorFormatError) as caught:
        load_table(text.encode(), name)
    assert f"嵌套超过 {MAX_DEPTH} 层" in problems(caught.value)[0][1]


def test_a_json_nested_past_the_interpreter_stack_is_refused_not_crashed():
    with pytest.raises(IndicatorFormatError, match="嵌套超过"):
        load_table(b"[" * 100_000 + b"]" * 100_000, "t.json")


def test_nan_and_infinity_are_refused():
    table = library_table()
    text = re.sub(r'"points": [0-9.]+', '"points": NaN', json.dumps(table), count=1)
    assert "NaN" in text
    with pytest.raises(IndicatorFormatError, match="NaN"):
        load_table(text.encode(), "t.json")


def base(project) -> str:
    return f"/desk/projects/{project.id}/indicators/"


def test_the_desk_import_refuses_an_alias_bomb_and_keeps_nothing(app, logged_in, evaluator):
    project = make_project(evaluator)
    response = logged_in.post(
        base(project) + "import",
        data={"file": (io.BytesIO(alias_bomb()), "bomb.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "锚点和别名" in response.data.decode()
    assert db.session.execute(db.select(IndicatorTable).filter_by(project_id=project.id)).scalar_one_or_none() is None


def test_the_desk_import_names_unknown_fields(app, logged_in, evaluator):
    project = make_project(evaluator)
    table = library_table()
    table["indicators"][0]["weight"] = 3
    response = logged_in.post(
        base(project) + "import",
        data={"file": (io.BytesIO(json.dumps(table).encode()), "t.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "不认识的字段：weight。" in response.data.decode()


def test_a_table_grown_on_the_desk_is_bounded_too(app, logged_in, evaluator):
    """Node after node added on the desk cannot grow the stored JSON past the bound either."""
    project = make_project(evaluator)
    imported = logged_in.post(
        base(project) + "import",
        data={"file": (io.BytesIO(json.dumps(library_table()).encode()), "t.json")},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 302
    response = logged_in.post(base(project) + "add", data={"name": "指标" * (MAX_STORED_BYTES // 6), "points": "0"})
    assert response.status_code == 422
    assert f"超过上限 {MAX_STORED_BYTES // 1024} KB" in response.data.decode()
    db.session.expire_all()
    stored = db.session.execute(db.select(IndicatorTable).filter_by(project_id=project.id)).scalar_one()
    assert stored.definition == {"format": "indicator-table/1", **library_table()}
