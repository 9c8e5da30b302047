"""BootsTAPIR weights: import loads the file strictly into the TAPIR network, installs it under
its variant's release name and records its SHA-256; a file that does not load is refused with
what was expected and found, and nothing is installed; ``pose3d weights list`` shows both
trackers, and says when a TAPIR file changed since its import. Files are made here (random
weights); the internet is never contacted."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
import torch

from pose3d.cli import main
from pose3d.tracking import weights as w
from pose3d.tracking import weights_tapir as wt
from pose3d.tracking.tapir import build_tapir

OFFLINE, ONLINE = wt.RELEASES["offline"], wt.RELEASES["online"]


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return build_tapir("offline").state_dict()


@pytest.fixture(scope="module")
def tapir_file(state: dict[str, torch.Tensor], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state_dict of the TAPIR network with random weights, under a name of the user's."""
    path = tmp_path_factory.mktemp("tapir") / "my_tapir.pt"
    torch.save(state, path)
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_import_installs_under_the_release_name_and_records_the_hash(
    tapir_file: Path, folder: Path
) -> None:
    digest = _digest(tapir_file)
    weights = w.import_weights(tapir_file, tracker="tapir")
    assert weights.path == folder / OFFLINE and weights.variant == "offline"
    assert _digest(weights.path) == digest and weights.sha256 == digest
    record = json.loads((folder / f"{OFFLINE}.import.json").read_text())
    assert record["sha256"] == digest and record["variant"] == "offline"
    assert record["file"] == OFFLINE and record["size"] == tapir_file.stat().st_size
    assert record["source"] == str(tapir_file.resolve())
    assert w.find_weights("offline", tracker="tapir") == weights.path
    assert w.find_weights("online", tracker="tapir") is None
    (listed,) = w.installed(tracker="tapir")
    assert listed.status == f"loads strictly at import; SHA-256 recorded {digest}"
    assert w.installed() == []  # CoTracker3's files: none, in the same folder
    assert sorted(p.name for p in folder.iterdir()) == [OFFLINE, f"{OFFLINE}.import.json"]


def test_the_variant_comes_from_the_name_or_is_given(tapir_file: Path, folder: Path) -> None:
    causal = tapir_file.parent / "causal_bootstapir_checkpoint (1).pt"
    if not causal.exists():
        os.link(tapir_file, causal)
    assert w.import_weights(causal, tracker="tapir").path == folder / ONLINE
    again = w.import_weights(tapir_file, tracker="tapir", variant="online")
    assert again.path == folder / ONLINE and again.variant == "online"
    assert [i.variant for i in w.installed(tracker="tapir")] == ["online"]


def _missing_key(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for i, (k, v) in enumerate(state.items()) if i != 5}


def _wrong_shape(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    name = next(k for k, v in state.items() if v.ndim == 4)
    return {**state, name: torch.zeros(3, 3, 3, 3)}


@pytest.mark.parametrize(
    ("make", "found"),
    [
        (_missing_key, r"1 missing keys \['"),
        (_wrong_shape, r"1 shape mismatches \[.*\(3, 3, 3, 3\) \(expected"),
        (None, "not a readable torch weights file"),
        (lambda state: list(state.values())[:2], "found list"),
    ],
    ids=["missing-key", "wrong-shape", "not-torch", "not-a-state-dict"],
)
def test_a_file_that_does_not_load_is_refused_and_nothing_is_installed(
    make, found: str, state: dict[str, torch.Tensor], tmp_path: Path, folder: Path
) -> None:
    bad = tmp_path / "bootstapir_checkpoint_v2.pt"
    if make is None:
        bad.write_bytes(b"<html>404 not found</html>")
    else:
        torch.save(make(state), bad)
    with pytest.raises(w.WeightsError) as caught:
        w.import_weights(bad, tracker="tapir")
    message = str(caught.value)
    assert message.startswith(f"{bad} is not a BootsTAPIR checkpoint")
    assert f"({len(state)} tensors)" in message and len(state) == 218
    assert "Nothing was installed" in message and wt.DOWNLOAD + OFFLINE in message
    assert len(message.splitlines()) == 1 and "weights_only" not in message  # not torch's advice
    assert re.search(found, message), message
    assert not folder.exists() or not any(folder.iterdir())


def test_force_and_an_unknown_variant_are_refused_before_loading(
    tmp_path: Path, folder: Path
) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"x")
    with pytest.raises(w.WeightsError, match="--force is for CoTracker3"):
        w.import_weights(junk, tracker="tapir", force=True)
    with pytest.raises(w.WeightsError, match="unknown BootsTAPIR variant 'causal'"):
        w.import_weights(junk, tracker="tapir", variant="causal")
    with pytest.raises(w.WeightsError, match="does not exist"):
        w.import_weights(tmp_path / "absent.pt", tracker="tapir")
    with pytest.raises(w.WeightsError, match="no weights are known for tracker 'classical'"):
        w.import_weights(junk, tracker="classical")


def _fake_install(folder: Path, content: bytes, record: object) -> Path:
    """A release-named file with the given import record (no torch: listing never loads)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / OFFLINE
    path.write_bytes(content)
    if record is not None:
        text = record if isinstance(record, str) else json.dumps(record)
        (folder / f"{OFFLINE}.import.json").write_text(text)
    return path


def _record(sha256: str) -> dict[str, object]:
    return {"file": OFFLINE, "variant": "offline", "sha256": sha256, "size": 4,
            "source": "/somewhere/x.pt", "imported": "2025-01-01T00:00:00+00:00"}  # fmt: skip


def test_list_says_when_a_file_changed_since_its_import(folder: Path) -> None:
    recorded = hashlib.sha256(b"then").hexdigest()
    _fake_install(folder, b"now!", _record(recorded))
    (listed,) = w.installed(tracker="tapir")
    assert listed.status.startswith("CHANGED since import")
    assert recorded in listed.status and _digest(folder / OFFLINE) in listed.status


@pytest.mark.parametrize(
    "record",
    [None, "{not json", "[1, 2]", json.dumps({**_record("0" * 64), "file": "../../etc/passwd"}),
     json.dumps({**_record("0" * 64), "size": "big"}), json.dumps({"sha256": "0" * 64})],
    ids=["none", "not-json", "a-list", "another-file", "wrong-type", "fields-missing"],
)  # fmt: skip
def test_a_file_without_a_readable_import_record_is_not_verified(
    record: str | None, folder: Path
) -> None:
    _fake_install(folder, b"data", record)
    (listed,) = w.installed(tracker="tapir")
    assert listed.status.startswith("NOT verified: no import record")
    assert listed.variant == "offline"


def test_cli_import_and_list_show_both_trackers(
    tapir_file: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert "CoTracker3 (cotracker3): CoTracker3 weights (Meta" in out and "CC BY-NC 4.0" in out
    assert "BootsTAPIR (tapir): BootsTAPIR weights (Google DeepMind" in out
    assert "Apache 2.0" in out and "no BootsTAPIR weights in" in out
    assert out.count(f"folder {folder}\n") == 2
    assert (
        "pose3d track uses classical: " in out
        and "note: no CoTracker3 weights and no BootsTAPIR weights" in out
    )

    assert main(["weights", "import", str(tapir_file)]) == 0  # "tapir" in the name
    out = capsys.readouterr().out
    assert out.startswith(f"installed {folder / OFFLINE} (BootsTAPIR, offline): loads strictly")
    assert "Apache 2.0" in out and f"source: {wt.SOURCE}" in out

    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    digest = _digest(tapir_file)
    line = next(x for x in out.splitlines() if OFFLINE in x)
    assert "offline" in line and f"loads strictly at import; SHA-256 recorded {digest}" in line
    assert f"{tapir_file.stat().st_size / 1e6:.1f} MB" in line
    assert (
        "pose3d track uses tapir: first installed of the order cotracker3, tapir, classical" in out
    )
    assert "no offline weights for cotracker3" in out and "note:" not in out

    with open(folder / OFFLINE, "r+b") as fh:  # a byte changes after the import
        fh.seek(-1, os.SEEK_END)
        last = fh.read(1)
        fh.seek(-1, os.SEEK_END)
        fh.write(bytes([last[0] ^ 1]))
    assert main(["weights", "list"]) == 0
    assert "CHANGED since import" in capsys.readouterr().out


def test_cli_refuses_to_download_tapir_weights_and_says_where_to_get_them(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["weights", "download", "--tracker", "tapir"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: pose3d does not download BootsTAPIR")
    assert wt.DOWNLOAD in err[0] and "pose3d weights import --tracker tapir FILE" in err[0]
    assert not folder.exists()


def test_cli_refuses_a_non_tapir_file_in_one_line(
    tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    assert main(["weights", "import", "--tracker", "tapir", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bad} is not a BootsTAPIR checkpoint")
    assert not folder.exists() or not any(folder.iterdir())
