"""README.md and docs/*.md lead where they say: every relative link reaches a file, every anchor a heading (by
GitHub's slug rules), and every shell block names only make targets and Python modules that exist."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
# [text](target) and ![alt](target); a target ends at whitespace (a title may follow) or the closing parenthesis
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.MULTILINE)
MAKE_TARGET = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)(?: [A-Za-z0-9_.-]+)*:(?!=)", re.MULTILINE)
MAKE_CALL = re.compile(r"(?:^|[\s;&|(])make +((?:-\S+ +|[A-Z_][A-Z0-9_]*=\S+ +)*)([A-Za-z0-9][A-Za-z0-9_.-]*)")
MODULE_CALL = re.compile(r"(?:^|[\s;&|(])(?:\S*/)?python[0-9.]* +-m +([A-Za-z_][\w.]*)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lowercase, punctuation but `-` and `_` removed, spaces to `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[`*]", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor, a repeated heading numbered `-1`, `-2` ... as GitHub numbers it."""
    seen: dict[str, int] = {}
    found = set()
    # inline code stays: a heading such as ## `close-all` keeps its words in the anchor
    for heading in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def without_code(text: str) -> str:
    """The text with fenced blocks and inline code removed (a `#` or `[x](y)` in code is not markup)."""
    text = FENCE.sub("", text)
    return re.sub(r"`[^`\n]*`", "", text)


def shell_blocks(text: str) -> list[str]:
    return [body for language, body in FENCE.findall(text) if language in ("sh", "shell", "bash", "console")]


def make_targets() -> set[str]:
    return set(MAKE_TARGET.findall((REPO_ROOT / "Makefile").read_text()))


def module_exists(name: str) -> bool:
    path = REPO_ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file() or (path / "__main__.py").is_file()


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in LINK.findall(without_code(path.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    return broken


def unknown_commands(path: Path) -> list[str]:
    targets = make_targets()
    unknown = []
    for block in shell_blocks(path.read_text()):
        for _, target in MAKE_CALL.findall(block):
            if target not in targets:
                unknown.append(f"make {target}: no such target in the Makefile")
        for module in MODULE_CALL.findall(block):
            if not module_exists(module):
                unknown.append(f"python -m {module}: no such module in the repository")
    return unknown


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_and_anchor_resolves(path):
    assert broken_links(path) == []


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.name)
def test_shell_blocks_name_existing_make_targets_and_modules(path):
    assert unknown_commands(path) == []


def test_slugs_follow_githubs_rules():
    assert slug("The daily and the Sunday restart in the logs") == "the-daily-and-the-sunday-restart-in-the-logs"
    assert slug("Trading config (store)") == "trading-config-store"
    assert slug("`close-all`") == "close-all"
    assert slug("The paper gateway (`simulator/`)") == "the-paper-gateway-simulator"
    assert slug("Pinning IB Gateway and IBC") == "pinning-ib-gateway-and-ibc"
    assert slug("snake_case & more") == "snake_case--more"


def test_a_broken_link_a_missing_anchor_and_an_unknown_command_are_found(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## A section\n\n## `close-all`\n")
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n[fine](other.md#a-section) [code](other.md#close-all) [gone](missing.md) "
                    "[no anchor](other.md#nowhere) [here](#page) [not here](#elsewhere)\n\n"
                    "```sh\nmake run\nmake no-such-target PORT=1\n.venv/bin/python -m lib.config show\n"
                    "python -m no_such.module\n```\n")
    assert broken_links(page) == [f"missing.md: no file {tmp_path / 'missing.md'}",
                                  "other.md#nowhere: no heading #nowhere in other.md", "#elsewhere: no heading "
                                  "#elsewhere in page.md"]
    assert unknown_commands(page) == ["make no-such-target: no such target in the Makefile",
                                      "python -m no_such.module: no such module in the repository"]
