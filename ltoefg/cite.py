"""Licences and how to cite: the one place that says both (``ltoefg cite``, ``ltoefg info``).

Decision (written down in ``docs/citing.md``): the code is BSD-3-Clause (the
``LICENSE`` file, as in ``pyproject.toml``); the data-set files that ltoefg
makes (the point-charge releases ``pcm-*``, which ship inside the package, and
DFT labels computed by :mod:`ltoefg.dft`) are CC-BY-4.0, the usual licence of
open research data: anyone may reuse and redistribute them, with attribution
(cite the package and the paper). A data set imported from someone else's
``.magres`` files keeps the licence of its source; ltoefg sets none.

``CITATION.cff`` at the repository root is exactly :func:`cff` (a test checks
it), so this module, the file and ``ltoefg info`` cannot disagree. The paper's
text gives no DOI, so none is quoted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = [
    "CODE_LICENSE",
    "DATA_LICENSE",
    "DATA_LICENSE_URL",
    "PAPER",
    "bibtex",
    "cff",
    "data_licence",
    "paper_short",
]

#: SPDX identifier of the code's licence (``LICENSE``, ``pyproject.toml``).
CODE_LICENSE = "BSD-3-Clause"
#: SPDX identifier of the licence of the data sets ltoefg makes.
DATA_LICENSE = "CC-BY-4.0"
DATA_LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
#: Copyright holder named in ``LICENSE`` and the author of the package.
AUTHORS = "ltoefg developers"
TITLE = "ltoefg: the LTO-EFG tensor-learning benchmark (data set, metrics, evaluator)"
ABSTRACT = (
    "Benchmark suite and data set for machine learning of NMR electric-field-gradient "
    "tensors in Li4Ti5O12, with observable-targeted metrics and an evaluator, following "
    "Harper, Köcher, Reuter and Scheurer, J. Mater. Chem. A 2025."
)
#: BibTeX keys of the two entries.
KEY_PACKAGE = "ltoefg"
KEY_PAPER = "harper2025"
#: Label methods of data sets imported from other people's files (licence of the source).
_IMPORTED_LABEL_METHODS = ("dft-castep-gipaw",)


@dataclass(frozen=True)
class Person:
    """An author: given names and family name (UTF-8)."""

    given: str
    family: str


@dataclass(frozen=True)
class Paper:
    """A journal article (no DOI: the text the project has gives none)."""

    authors: tuple[Person, ...]
    title: str
    journal: str
    year: int


#: The paper ltoefg follows (authors and title from its text).
PAPER = Paper(
    authors=(
        Person("Angela F.", "Harper"),
        Person("Simone S.", "Köcher"),
        Person("Karsten", "Reuter"),
        Person("Christoph", "Scheurer"),
    ),
    title=(
        "Performance metrics for tensorial learning: prediction of Li4Ti5O12 nuclear "
        "magnetic resonance observables at experimental accuracy"
    ),
    journal="Journal of Materials Chemistry A",
    year=2025,
)


def data_licence(label_method: str | None = None) -> str:
    """The licence of a data set, from its label method.

    Parameters
    ----------
    label_method : str, optional
        ``Dataset.label_method``; None: the data sets ltoefg makes.

    Returns
    -------
    str
        ``"CC-BY-4.0"`` for data ltoefg makes; a sentence for imported data.
    """
    if label_method in _IMPORTED_LABEL_METHODS:
        return "that of the .magres files it was imported from (ltoefg sets none)"
    return DATA_LICENSE


def paper_short() -> str:
    """The paper in one line: ``Harper, Köcher, Reuter, Scheurer, J. Mater. Chem. A 2025``."""
    names = ", ".join(p.family for p in PAPER.authors)
    return f"{names}, J. Mater. Chem. A {PAPER.year}"


def _version() -> str:
    from ltoefg.version import __version__

    return __version__


# ------------------------------------------------------------------------- BibTeX
_BIBTEX_ACCENTS = {"ö": '{\\"o}', "ä": '{\\"a}', "ü": '{\\"u}', "é": "{\\'e}"}


def _tex(text: str) -> str:
    """Plain text as BibTeX: accents as TeX, the formula and acronyms protected."""
    for char, tex in _BIBTEX_ACCENTS.items():
        text = text.replace(char, tex)
    return (
        text.replace("Li4Ti5O12", "{Li$_4$Ti$_5$O$_{12}$}")
        .replace("LTO-EFG", "{LTO-EFG}")
        .replace("NMR", "{NMR}")
    )


def bibtex() -> str:
    """BibTeX entries of the package (``ltoefg``) and the paper (``harper2025``)."""
    version = _version()
    authors = " and ".join(f"{_tex(p.family)}, {_tex(p.given)}" for p in PAPER.authors)
    return (
        f"@misc{{{KEY_PACKAGE},\n"
        f"  author  = {{{{{AUTHORS}}}}},\n"
        f"  title   = {{{_tex(TITLE)}}},\n"
        f"  note    = {{Python package, version {version}; code {CODE_LICENSE}, data "
        f"{DATA_LICENSE}}},\n"
        f"  version = {{{version}}}\n"
        "}\n\n"
        f"@article{{{KEY_PAPER},\n"
        f"  author  = {{{authors}}},\n"
        f"  title   = {{{_tex(PAPER.title)}}},\n"
        f"  journal = {{{PAPER.journal}}},\n"
        f"  year    = {{{PAPER.year}}}\n"
        "}\n"
    )


# ---------------------------------------------------------------------------- CFF
def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _cff_authors(indent: str) -> list[str]:
    lines = []
    for p in PAPER.authors:
        lines += [
            f"{indent}- family-names: {_q(p.family)}",
            f"{indent}  given-names: {_q(p.given)}",
        ]
    return lines


def cff() -> str:
    """``CITATION.cff`` (Citation File Format 1.2.0): the package, the data and the paper."""
    version = _version()
    lines = [
        "# Generated by `ltoefg cite --format cff` (ltoefg/cite.py); a test keeps it current.",
        "cff-version: 1.2.0",
        f"message: {_q('If you use ltoefg or its data, please cite the package and the paper.')}",
        "type: software",
        f"title: {_q(TITLE)}",
        f"version: {_q(version)}",
        f"license: {CODE_LICENSE}",
        f"abstract: {_q(ABSTRACT)}",
        "authors:",
        f"  - name: {_q(AUTHORS)}",
        "keywords:",
        *(
            f"  - {_q(k)}"
            for k in (
                "NMR",
                "electric field gradient",
                "tensor learning",
                "benchmark",
                "Li4Ti5O12",
                "machine learning",
            )
        ),
        "references:",
        "  - type: article",
        f"    title: {_q(PAPER.title)}",
        "    authors:",
        *_cff_authors("      "),
        f"    journal: {_q(PAPER.journal)}",
        f"    year: {PAPER.year}",
        "  - type: data",
        f"    title: {_q('LTO-EFG data sets made by ltoefg (point-charge releases pcm-*)')}",
        "    authors:",
        f"      - name: {_q(AUTHORS)}",
        f"    version: {_q(version)}",
        f"    license: {DATA_LICENSE}",
    ]
    return "\n".join(lines) + "\n"
