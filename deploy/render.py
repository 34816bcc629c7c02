"""Fills a deploy template's ${NAME} placeholders: `python -m deploy.render TEMPLATE NAME=VALUE ...` prints the result.

Every placeholder needs a non-empty value; a missing one fails naming it, so a half-filled file never reaches
`gcloud run services replace`.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Mapping

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
EXIT_USAGE = 2


class RenderError(ValueError):
    """A placeholder has no value, or a value is empty."""


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with each ${NAME} replaced by values[NAME].

    Raises:
        RenderError: names without a value, or with an empty one.
    """
    names = set(PLACEHOLDER.findall(text))
    missing = sorted(names - set(values))
    if missing:
        raise RenderError(f"no value for {', '.join(missing)}")
    empty = sorted(name for name in names if not values[name])
    if empty:
        raise RenderError(f"empty value for {', '.join(empty)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def _assignment(text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.render", description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path)
    parser.add_argument("values", nargs="*", type=_assignment, metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(render(args.template.read_text(encoding="utf-8"), dict(args.values)))
    except (RenderError, OSError) as exc:
        print(f"{args.template}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
