"""The image installs IB Gateway where IBC's ibcstart.sh looks for it, pins its downloads and runs the entrypoint."""
import re
from pathlib import PurePosixPath

import pytest

from deploy.entrypoint import ibc_layout
from deploy.entrypoint.settings import load
from tests.deploy.dockerfile import build_values, expand, install_run, instructions
from tests.support import REPO_ROOT

# IbcAlpha/IBC resources/scripts/ibcstart.sh (3.20.0), Linux branch, verbatim: after parsing its arguments it looks
# for "${gateway_program_path}/jars", then "${tws_program_path}/jars", and exits 4 when neither exists
IBCSTART_RULE = '''
	tws_program_path="${tws_path}/${tws_version}"
	gateway_program_path="${tws_path}/ibgateway/${tws_version}"
'''


def ibcstart_candidates(argv: list[str]) -> list[PurePosixPath]:
    """Where ibcstart.sh, given `argv`, looks for the jars folder, evaluating its own assignments above."""
    tws_path = next(a.split("=", 1)[1] for a in argv[1:] if a.startswith("--tws-path="))
    tws_version = next(a for a in argv[1:] if not a.startswith("-"))
    paths = dict(re.findall(r'(\w+_program_path)="([^"]+)"', IBCSTART_RULE))
    shell = {"tws_path": tws_path, "tws_version": tws_version}
    return [PurePosixPath(expand(paths[name], shell)) / "jars"
            for name in ("gateway_program_path", "tws_program_path")]


def test_the_gateway_is_installed_where_ibcstart_looks_for_it():
    values = build_values()
    installed = re.search(r'ibgateway\.sh -q -dir "([^"]+)"', install_run()).group(1)
    install_dir = PurePosixPath(expand(installed, values))
    # the container's settings are the image's ENV; the entrypoint builds IBC's command line from them
    command = ibc_layout.ibc_command(load(values))
    assert ibcstart_candidates(command)[0] == install_dir / "jars"
    assert ibc_layout.jars_dir_ibc_uses(values["TWS_PATH"], values["IB_GATEWAY_VERSION"],
                                        lambda path: path == install_dir / "jars") == install_dir / "jars"
    # and the build itself fails if the installer put the jars anywhere else
    assert f'test -d "{installed}/jars"' in install_run()


def test_the_old_layout_is_what_ibcstart_rejects():
    # the image used to install into /opt/ibgateway and pass --tws-path=/opt: ibcstart.sh found no jars and exited 4
    candidates = ibcstart_candidates(["ibcstart.sh", "1030", "--gateway", "--tws-path=/opt"])
    assert PurePosixPath("/opt/ibgateway/jars") not in candidates


@pytest.mark.parametrize("download, checksum_arg", [("/tmp/ibgateway.sh", "IB_GATEWAY_SHA256"),
                                                     ("/tmp/ibc.zip", "IBC_SHA256")])
def test_every_download_is_checked_against_a_pinned_sum_and_no_sum_is_invented(download, checksum_arg):
    run = install_run()
    fetched = run.index(f"curl -fsSL -o {download}")
    checked = run.index(f'echo "${{{checksum_arg}}}  {download}" | sha256sum --check --strict -')
    used = min(i for i in (run.find(f"{download} -q"), run.find(f"unzip -q {download}")) if i >= 0)
    assert fetched < checked < used
    assert build_values()[checksum_arg] == "", "sums come from the vendors' pages, never from this repository"
    assert f'-z "${{{checksum_arg}}}"' in run, "an empty sum fails the build"


def test_the_versions_are_pinned_build_arguments():
    args = {arguments.partition("=")[0] for name, arguments in instructions() if name == "ARG"}
    assert {"IB_GATEWAY_VERSION", "IB_GATEWAY_SHA256", "IBC_VERSION", "IBC_SHA256"} <= args
    assert build_values()["IBC_VERSION"] == "3.20.0"


def test_tini_runs_the_entrypoint_as_an_unprivileged_user():
    commands = dict(instructions())
    assert commands["ENTRYPOINT"] == '["/usr/bin/tini", "--"]'
    assert commands["CMD"] == '["python", "-m", "deploy.entrypoint"]'
    assert commands["USER"].split(":")[0] not in ("0", "root")
    copied = [arguments for name, arguments in instructions() if name == "COPY"]
    assert "deploy/entrypoint deploy/entrypoint" in copied


def test_every_package_of_the_service_is_copied_into_the_image():
    """main.py's own packages (the import-linter root packages but the simulator, deploy and the backtest, which
    the service never imports) are in the image."""
    config = (REPO_ROOT / ".importlinter").read_text()
    roots = re.search(r"root_packages =\n((?:    \S+\n)+)", config).group(1).split()
    copied = {arguments.split()[0] for name, arguments in instructions() if name == "COPY"}
    assert set(roots) - {"simulator", "deploy", "backtest"} <= copied
