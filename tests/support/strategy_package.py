"""A strategy package written to a temporary directory: a copy of strategies/dummy.py under another id, declared in
the `ib_trading.strategies` entry-point group the way an installed package declares it."""
from __future__ import annotations

from pathlib import Path

from strategies.registry import ENTRY_POINT_GROUP
from tests.support import REPO_ROOT

DUMMY_SOURCE = REPO_ROOT / "strategies" / "dummy.py"


def copy_of_dummy(strategy_id: str) -> str:
    """strategies/dummy.py's source with its id (and class name) changed, nothing else."""
    source = DUMMY_SOURCE.read_text()
    assert source.count('id = "dummy"') == 1
    return source.replace('id = "dummy"', f'id = "{strategy_id}"').replace("class Dummy(", "class DummyCopy(")


def write_package(root: Path, package: str, modules: dict[str, str], *, entry_point: bool = True) -> Path:
    """`root/package/` with `modules` ({name: source}) and, with `entry_point`, a dist-info that names the package
    in the entry-point group; put `root` on sys.path (or PYTHONPATH) to install it."""
    directory = root / package
    directory.mkdir(parents=True)
    (directory / "__init__.py").write_text("")
    for name, source in modules.items():
        (directory / f"{name}.py").write_text(source)
    if entry_point:
        info = root / f"{package}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{package} = {package}\n")
    return directory
