"""Settings files are parsed by libyaml when PyYAML has it, giving the documents and the errors the pure-Python
parser gives; a process parses each settings text once and every caller gets its own copy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from customer_health.tools.base.errors import InputError
from customer_health.tools.data import paths
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[3]
needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")

# what YAML 1.1 makes of plain scalars, anchors, merges, block and flow styles, tags and odd bytes
TRICKY = [
    "",
    "# only a comment\n",
    "a: 1\nb: 1.5\nc: 1e3\nd: .inf\ne: -.Inf\nf: .nan\ng: 0x1F\nh: 0o17\ni: 017\nj: 1_000\nk: 1:30\n",
    "yes_no: [yes, no, on, off, y, n, true, False, TRUE]\nnulls: [~, null, Null, '']\n",
    "day: 2026-08-31\nstamp: 2026-08-31 12:30:00\nstamp_tz: 2026-08-31T12:30:00+02:00\n",
    "base: &b {roles: [analyst], weekly_active_target: 0.7}\npersonas:\n  one: *b\n  two:\n    <<: *b\n    roles: [admin]\n",
    "text: |\n  two lines\n  kept\nfolded: >\n  folded\n  lines\nkeep: |+\n  kept\n\nstrip: |-\n  stripped\n",
    "quoted: 'it''s'\ndouble: \"tab\\there \\u00e9 \\x41\"\nunicode: café ☕ 𝔘\n",
    "? [complex, key]\n: value\n",
    "set: !!set {a, b}\nbinary: !!binary aGVsbG8=\nstr: !!str 12\nfloat: !!float '3'\n",
    "\ufeffbom: first\n",
    "crlf: one\r\nnext: two\r\n",
    '{"json": [1, 2.5, "three", null, true], "nested": {"a": {}}}',
    "- a\n- - b\n  - c\n- {d: e}\n",
    "dup: 1\ndup: 2\n",
    "long_int: 123456789012345678901234567890\nneg: -0.0\n",
    "workflows:\n  reporting: [import_data, build_report, share_report]\nactivation: share_report\n",
]
BROKEN = [
    "a: [1, 2\n",
    "a: b: c\n",
    "key: value\n\tindented_with_tab: 1\n",
    "a: 'unclosed\n",
    "- a\nb: c\n",
    "a: *missing\n",
    "--- 1\n--- 2\n",
    "bell: \x07\n",
    "a: !!python/object:os.system {}\n",
    "{a: 1, a: [}\n",
]


def _pure(text: str, monkeypatch, name: str = "settings.yaml"):
    """What the pure-Python parser makes of `text`: the document, or the InputError's message and row."""
    paths._PARSED.clear()
    with monkeypatch.context() as m:
        m.setattr(yaml, "__with_libyaml__", False)
        return _outcome(text, name)


def _outcome(text: str, name: str = "settings.yaml"):
    paths._PARSED.clear()
    try:
        return ("document", repr(paths.parse_yaml(text, name)))
    except InputError as exc:
        return ("error", exc.message, exc.row)


@needs_libyaml
@pytest.mark.parametrize("text", TRICKY + BROKEN)
def test_libyaml_gives_the_documents_and_errors_the_pure_python_parser_gives(text, monkeypatch):
    assert _outcome(text) == _pure(text, monkeypatch)


@needs_libyaml
@pytest.mark.parametrize(
    "path", ["examples/sample/customer-health.yaml", "tests/data/facts/customer-health.yaml"]
)
def test_the_bundled_settings_files_read_the_same_either_way(path, monkeypatch):
    text = (ROOT / path).read_text(encoding="utf-8")
    assert _outcome(text) == _pure(text, monkeypatch)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        ["yes", "No", "~", "1:20", "0x10", "2026-01-01", "1e3", ".5", "- a", "a: b", "#x", "'", '"']
    ),
)
_documents = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@needs_libyaml
@settings(max_examples=150, deadline=None)
@given(document=_documents, flow=st.sampled_from([None, True, False]))
def test_any_document_pyyaml_writes_reads_back_the_same_with_either_parser(document, flow):
    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    paths._PARSED.clear()
    fast = repr(paths.parse_yaml(text, "generated.yaml"))
    assert fast == repr(yaml.safe_load(text))


@needs_libyaml
def test_a_well_formed_file_is_read_by_libyaml(monkeypatch):
    paths._PARSED.clear()
    monkeypatch.setattr(yaml, "safe_load", lambda _text: pytest.fail("the pure-Python parser ran"))
    assert paths.parse_yaml("core_features: [a, b]\n", "customer-health.yaml") == {
        "core_features": ["a", "b"]
    }


def test_a_process_parses_a_settings_text_once_and_each_caller_gets_its_own_copy(monkeypatch):
    paths._PARSED.clear()
    parsed = []
    real = paths._load_yaml
    monkeypatch.setattr(paths, "_load_yaml", lambda *a: parsed.append(a[0]) or real(*a))
    text = "personas:\n  analyst: {roles: [analyst], weekly_active_target: 0.7}\n"
    first = paths.parse_yaml(text, "customer-health.yaml")
    first["personas"]["analyst"]["roles"].append("changed by the first caller")
    second = paths.parse_yaml(text, "customer-health.yaml")
    assert second == {"personas": {"analyst": {"roles": ["analyst"], "weekly_active_target": 0.7}}}
    assert parsed == [text]


def test_an_error_is_raised_each_time_the_broken_text_is_read():
    paths._PARSED.clear()
    for _ in range(2):
        with pytest.raises(InputError) as caught:
            paths.parse_yaml("a: [1, 2\n", "customer-health.yaml")
        assert caught.value.file == "customer-health.yaml" and caught.value.row is not None


def test_the_most_recent_texts_are_the_ones_remembered():
    paths._PARSED.clear()
    for n in range(paths._PARSED_MOST + 5):
        paths.parse_yaml(f"n: {n}\n", "x.yaml")
    assert len(paths._PARSED) == paths._PARSED_MOST
    assert f"n: {paths._PARSED_MOST + 4}\n" in paths._PARSED and "n: 0\n" not in paths._PARSED
