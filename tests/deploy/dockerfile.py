"""The Dockerfile read as the build reads it: instructions, ARG defaults and ENV values."""
from __future__ import annotations

import re
import shlex

from tests.support import REPO_ROOT

SAMPLE_VERSION = "10.30.1t"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = (REPO_ROOT / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in logical.splitlines() if line.strip()]


def build_values() -> dict[str, str]:
    """ARG defaults and ENV values as the build sees them, with a sample gateway version for the empty ARG."""
    values = {}
    for name, arguments in instructions():
        if name == "ARG":
            key, _, default = arguments.partition("=")
            values[key] = default
        elif name == "ENV":
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                values[key] = expand(value, values)
    values["IB_GATEWAY_VERSION"] = values["IB_GATEWAY_VERSION"] or SAMPLE_VERSION
    return values


def expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m.group(1) or m.group(2), ""), text)


def install_run() -> str:
    runs = [arguments for name, arguments in instructions() if name == "RUN" and "ibgateway.sh -q -dir" in arguments]
    assert len(runs) == 1, "one RUN installs the gateway"
    return runs[0]
