"""A skeleton from another tool's project file: DeepLabCut config.yaml and SLEAP .slp (the real
files of ../shared/data, and files written here for what they lack)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest

from pose3d.errors import Pose3dError
from pose3d.io.skeleton_files import read_skeleton


def test_dlc_configs_of_real_projects(shared_data: Path) -> None:
    examples = shared_data / "dlc_labeled_examples"
    openfield = read_skeleton(examples / "openfield-Pranav-2018-10-30" / "config.yaml")
    assert openfield.keypoints == ("snout", "leftear", "rightear", "tailbase")
    assert openfield.edges == () and openfield.individuals == ()
    reaching = read_skeleton(examples / "Reaching-Mackenzie-2018-08-30" / "config.yaml")
    assert reaching.keypoints == ("Hand", "Finger1", "Tongue", "Joystick1", "Joystick2")
    assert reaching.edges == (("Hand", "Finger1"), ("Joystick1", "Joystick2"))


def test_a_real_slp_gives_its_nodes_and_body_edges(shared_data: Path) -> None:
    slp = (
        shared_data / "sleap_anipose_minimal_session" / "minimal_session" / "top"
        / "minimal_top_proofread.slp"
    )  # fmt: skip
    spec = read_skeleton(slp)
    assert len(spec.keypoints) == 15 and {"Nose", "Head", "TTI", "TailTip"} <= set(spec.keypoints)
    assert len(spec.edges) == 14
    assert ("Head", "Nose") in spec.edges and ("TTI", "TailTip") in spec.edges


def test_a_multi_animal_dlc_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "multianimalproject: true\n"
        "individuals: [mus1, mus2]\n"
        "multianimalbodyparts: [snout, tailbase]\n"
        "uniquebodyparts: [corner]\n"
        "bodyparts: MULTI!\n"
        "skeleton:\n- [snout, tailbase]\n",
        encoding="utf-8",
    )
    spec = read_skeleton(config)
    assert spec.keypoints == ("snout", "tailbase", "corner")
    assert spec.edges == (("snout", "tailbase"),) and spec.individuals == ("mus1", "mus2")


@pytest.mark.parametrize(
    "text, message",
    [
        ('bodyparts: !!python/object/apply:os.system ["touch pwned"]\n', "not valid YAML"),
        ("- just\n- a list\n", "no settings table"),
        ("bodyparts: []\n", "lists no bodyparts"),
        ("bodyparts: [a, b]\nskeleton:\n- [a]\n", "is not a pair"),
        ("bodyparts: [a, b]\nskeleton:\n- [a, c]\n", "c"),
        ("bodyparts: [a, a]\n", "unique"),
        ("bodyparts: {a: 1}\n", "must be a list of names"),
        ("bodyparts: [a\n", "not valid YAML"),
    ],
)
def test_a_bad_config_is_refused_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(Pose3dError, match=message) as caught:
        read_skeleton(config)
    assert str(config) in str(caught.value)
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def _slp(path: Path, links: list[dict]) -> Path:
    nodes = [{"name": n, "weight": 1.0} for n in ("ear_left", "ear_right", "nose", "neck")]
    skeleton = {"nodes": [{"id": i} for i in (2, 0, 1, 3)], "links": links}
    with h5py.File(path, "w") as fh:
        fh.create_group("metadata").attrs["json"] = json.dumps(
            {"nodes": nodes, "skeletons": [skeleton]}
        )
    return path


def _type(kind: int) -> dict:
    return {"py/reduce": [{"py/type": "sleap.skeleton.EdgeType"}, {"py/tuple": [kind]}]}


def test_slp_symmetry_edges_are_no_bones(tmp_path: Path) -> None:
    links = [
        {"source": 2, "target": 3, "type": _type(1)},  # nose-neck: body
        {"source": 0, "target": 1, "type": _type(2)},  # ear_left-ear_right: symmetry
        {"source": 2, "target": 0, "type": {"py/id": 1}},  # nose-ear_left: body again
        {"source": 1, "target": 0, "type": {"py/id": 2}},  # symmetry again
    ]
    spec = read_skeleton(_slp(tmp_path / "labels.slp", links))
    assert spec.keypoints == ("nose", "ear_left", "ear_right", "neck")  # the skeleton's order
    assert spec.edges == (("nose", "neck"), ("nose", "ear_left"))


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    for name, message in [("x.csv", "not a .csv"), ("missing.yaml", "is not a file")]:
        if name.endswith(".csv"):
            (tmp_path / name).write_text("a,b\n", encoding="utf-8")
        with pytest.raises(Pose3dError, match=message):
            read_skeleton(tmp_path / name)
    broken = tmp_path / "broken.slp"
    broken.write_bytes(b"not hdf5")
    with pytest.raises(Pose3dError, match="cannot be read as a SLEAP labels file"):
        read_skeleton(broken)
