"""Licences and citation: LICENSE, CITATION.cff, ``ltoefg cite`` and ``ltoefg info``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import ltoefg
from ltoefg import cite
from ltoefg.cli import main

REPO = Path(__file__).resolve().parents[1]


def parse_bibtex(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    """A strict little BibTeX reader: key -> (entry type, fields); braces must balance."""
    entries: dict[str, tuple[str, dict[str, str]]] = {}
    pos = 0
    for head in re.finditer(r"@(\w+)\{([^,\s]+),", text):
        assert text[pos : head.start()].strip() == "", "text between entries"
        depth, i = 1, head.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body, pos = text[head.end() : i - 1], i
        fields = {}
        for m in re.finditer(r"(\w+)\s*=\s*\{", body):
            depth, j = 1, m.end()
            while depth:
                depth += {"{": 1, "}": -1}.get(body[j], 0)
                j += 1
            fields[m.group(1)] = body[m.end() : j - 1]
        entries[head.group(2)] = (head.group(1).lower(), fields)
    assert text[pos:].strip() == ""
    return entries


def test_bibtex_has_the_package_and_the_paper(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cite"]) == 0
    out = capsys.readouterr().out
    entries = parse_bibtex(out)
    assert set(entries) == {"ltoefg", "harper2025"}
    kind, paper = entries["harper2025"]
    assert kind == "article" and paper["year"] == "2025"
    assert paper["author"].split(" and ") == [
        "Harper, Angela F.",
        'K{\\"o}cher, Simone S.',
        "Reuter, Karsten",
        "Scheurer, Christoph",
    ]
    assert paper["title"].startswith("Performance metrics for tensorial learning")
    assert "Chem" in paper["journal"] and "doi" not in paper  # the text gives no DOI
    kind, package = entries["ltoefg"]
    assert kind == "misc" and package["version"] == ltoefg.__version__
    assert "CC-BY-4.0" in package["note"] and "BSD-3-Clause" in package["note"]


def test_cff_output_is_valid_and_is_the_committed_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["cite", "--format", "cff"]) == 0
    out = capsys.readouterr().out
    assert (REPO / "CITATION.cff").read_text(encoding="utf-8") == out, (
        "CITATION.cff is out of date: run `ltoefg cite --format cff > CITATION.cff`"
    )
    doc = yaml.safe_load(out)
    for key in ("cff-version", "message", "title", "authors"):
        assert doc[key], key
    assert doc["cff-version"] == "1.2.0"
    assert doc["version"] == ltoefg.__version__
    assert doc["authors"] == [{"name": "ltoefg developers"}]
    article, data = doc["references"]
    assert article["type"] == "article" and article["year"] == 2025
    assert [a["family-names"] for a in article["authors"]] == [
        "Harper",
        "Köcher",
        "Reuter",
        "Scheurer",
    ]
    assert "doi" not in article
    assert data["type"] == "data" and data["license"] == cite.DATA_LICENSE == "CC-BY-4.0"


def test_licences_agree_everywhere() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    declared = re.search(r'^license = \{ text = "([^"]+)" \}$', pyproject, re.M)
    assert declared and declared.group(1) == cite.CODE_LICENSE == "BSD-3-Clause"
    assert yaml.safe_load(cite.cff())["license"] == cite.CODE_LICENSE
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "Copyright (c) 2026, ltoefg developers" in text
    assert "CC-BY-4.0" in text and cite.DATA_LICENSE_URL in text
    assert cite.data_licence("point-charge-ewald") == "CC-BY-4.0"
    assert "magres" in cite.data_licence("dft-castep-gipaw")


def test_info_names_the_data_licence_and_how_to_cite(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["info", "pcm-v2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    licence = next(line for line in lines if line.startswith("data licence"))
    assert licence.split()[2:] == ["CC-BY-4.0;", "code", "BSD-3-Clause"]
    how = next(line for line in lines if line.startswith("cite"))
    assert "ltoefg cite" in how and "Harper" in how and "2025" in how


def test_unknown_format_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["cite", "--format", "ris"])
    assert exc.value.code == 2
    assert "invalid choice: 'ris'" in capsys.readouterr().err
