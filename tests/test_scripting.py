"""The library face: ``import pose3d`` is light, its names resolve, and docs/scripting.md's
example runs as written on the committed sample session."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import pose3d

REPO = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves_to_its_module() -> None:
    for name in pose3d.__all__:
        assert getattr(pose3d, name) is not None, name
    assert set(pose3d.__all__) == {"__version__", *pose3d._LAZY}
    assert set(pose3d.__all__) <= set(dir(pose3d))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        pose3d.nothing_here  # noqa: B018


def test_import_pose3d_imports_nothing_heavy() -> None:
    code = (
        "import sys, pose3d; heavy = [m for m in ('xarray', 'numpy', 'torch', 'textual', "
        "'pyvista', 'cv2') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.slow
def test_the_scripting_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (REPO / "docs" / "scripting.md").read_text(encoding="utf-8")
    example = text[text.index("## Example") :]  # its first block; later ones are sketches
    blocks = re.findall(r"```python\n(.*?)```", example, flags=re.S)
    (tmp_path / "sample_data").symlink_to(REPO / "sample_data")
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "example.py"
    script.write_text(blocks[0], encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "calibration trusted: True" in out.stdout
    tracked = int(re.search(r"tracked (\d+) points", out.stdout).group(1))  # type: ignore[union-attr]
    assert tracked > 500
    median = float(re.search(r"median reprojection error ([0-9.]+) px", out.stdout).group(1))  # type: ignore[union-attr]
    assert median < 2.0
    assert (tmp_path / "scripted_session" / "poses3d.nc").is_file()
