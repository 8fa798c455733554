"""`customer-health check DRAFT_FILE --kind KIND …`: a draft written elsewhere gets the report `draft` gives, exit 0
when it passes, 3 when a claim fails, 2 on bad input — a missing, empty or non-text file, an unknown kind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from customer_health.server.cli.main import main
from customer_health.tools.narrative.grounding import GroundingReport, strip_citations

DATA = Path(__file__).resolve().parents[2] / "data"
INVENTED = "Usage grew 613 actions since March 3, 2019."


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("check")
    shutil.copytree(DATA / "mini", root / "mini")
    return root


@pytest.fixture
def here(folder, work_in):
    return work_in(folder)


@pytest.fixture
def drafted(here, capsys):
    """The template summary of A1 as `draft` wrote it, and the grounding report `draft` gave it."""
    assert (
        main(
            [
                "draft",
                "summary",
                "mini",
                "--account",
                "A1",
                "--out",
                "summary.md",
                "--format",
                "json",
                "--citations",
                "inline",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)["grounding"]
    return here / "summary.md", report


def test_a_draft_that_passes_exits_0_with_the_report_draft_gave_it(drafted, capsys):
    path, drafted_report = drafted
    args = ["check", str(path), "--kind", "summary", "--account", "A1", "mini", "--json", "--strict"]
    assert main(args) == 0  # strict, as `draft` checks by default
    report = json.loads(capsys.readouterr().out)
    assert report == drafted_report and report["passed"]
    assert GroundingReport.model_validate(report).claims  # the MCP tool's result model, field for field


def test_an_invented_figure_exits_3_and_the_text_report_names_it_with_its_sentence(drafted, capsys):
    path, _ = drafted
    path.write_text(path.read_text(encoding="utf-8") + "\n" + INVENTED + "\n", encoding="utf-8")
    assert main(["check", "summary.md", "--kind", "summary", "--account", "A1", "mini"]) == 3
    out = capsys.readouterr().out
    assert out.startswith("Grounding check: ")
    failing = [line for line in out.splitlines()[1:] if line.strip()]
    assert failing and all(line.endswith(f"in: {INVENTED}") for line in failing)
    assert any("'613'" in line for line in failing) and any("March 3, 2019" in line for line in failing)


def test_uncited_figures_pass_by_default_and_fail_with_strict(drafted, capsys):
    path, _ = drafted
    path.write_text(strip_citations(path.read_text(encoding="utf-8")), encoding="utf-8")
    args = ["check", "summary.md", "--kind", "summary", "--account", "A1", "mini", "--json"]
    assert main(args) == 0
    lenient = json.loads(capsys.readouterr().out)
    assert lenient["passed"] and not lenient["strict"] and lenient["counts"].get("uncited", 0) > 0
    assert main([*args, "--strict"]) == 3
    strict = json.loads(capsys.readouterr().out)
    assert {c["verdict"] for c in strict["unsupported"]} == {"uncited"}


def test_a_missing_file_exits_2_naming_it(here, capsys):
    assert main(["check", "nowhere.md", "--kind", "qbr", "--account", "A1", "mini"]) == 2
    err = capsys.readouterr().err
    assert "nowhere.md" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "says"), [(b"", "is empty"), (b"  \n\n", "is empty"), (b"\xff\xfe\x00Q\x93", "UTF-8")]
)
def test_an_empty_or_binary_file_exits_2_saying_what_is_wrong(here, capsys, content, says):
    (here / "bad.md").write_bytes(content)
    assert main(["check", "bad.md", "--kind", "qbr", "--account", "A1", "mini"]) == 2
    err = capsys.readouterr().err
    assert "bad.md" in err and says in err


def test_an_unknown_kind_exits_2_listing_the_kinds(here, capsys):
    (here / "memo.md").write_text("Acme Corp renewed.\n", encoding="utf-8")
    assert main(["check", "memo.md", "--kind", "memo", "mini"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'memo'" in err and all(k in err for k in ("qbr", "risk", "board", "diagnosis"))


def test_an_account_kind_without_an_account_exits_2(here, capsys):
    (here / "qbr.md").write_text("Acme Corp renewed.\n", encoding="utf-8")
    assert main(["check", "qbr.md", "--kind", "qbr", "mini"]) == 2
    assert "is about one account" in capsys.readouterr().err


def test_the_help_documents_the_exit_codes(capsys):
    assert main(["check", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "0 the draft passes, 2 bad input, 3 a claim fails the check" in help_text
