"""CoTracker3 weights: import checks the SHA-256 against the releases (unknown files only with
--force, and only if they load strictly), downloads fail with one message when offline, and
tracker selection falls back to the classical tracker without weights. Files are made here
(random weights); the internet is never contacted."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from pose3d.cli import main
from pose3d.errors import Pose3dError
from pose3d.tracking import weights as w
from pose3d.tracking.classical import ClassicalTracker
from pose3d.tracking.cotracker3 import build_cotracker3
from pose3d.tracking.registry import make_tracker


@pytest.fixture(scope="module")
def random_online(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state_dict of the online network with random weights: its hash is no release's."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "my_online.pth"
    torch.save(build_cotracker3("online").state_dict(), path)
    return path


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "cache" / "cotracker3"
    monkeypatch.setenv(w.ENV_DIR, str(target))
    return target


def test_unknown_hash_is_refused(random_online: Path, folder: Path) -> None:
    with pytest.raises(w.WeightsError, match=r"matches no released CoTracker3 checkpoint.*--force"):
        w.import_weights(random_online)
    assert w.installed() == [] and not folder.exists()


def test_force_installs_a_file_that_loads_strictly(random_online: Path, folder: Path) -> None:
    weights = w.import_weights(random_online, force=True)
    assert weights.path == folder / "custom_online.pth" and not weights.verified
    assert weights.sha256 == hashlib.sha256(random_online.read_bytes()).hexdigest()
    assert w.find_weights("online") == weights.path and w.find_weights("offline") is None
    (listed,) = w.installed()
    assert listed.release is None and listed.size == random_online.stat().st_size
    choice = make_tracker(None, variant="online")
    assert choice.tracker.name == "cotracker3" and choice.notice is None


def test_force_still_refuses_what_does_not_load(tmp_path: Path, folder: Path) -> None:
    junk = tmp_path / "junk.pth"
    torch.save({"fnet.conv1.weight": torch.zeros(1)}, junk)
    with pytest.raises(w.WeightsError, match="loads into neither network"):
        w.import_weights(junk, force=True)
    assert not folder.exists() or not list(folder.glob("*.pth"))


def test_a_known_hash_is_installed_under_its_release_name(
    random_online: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = w.sha256_of(random_online)
    fake = w.Release("scaled_online.pth", "online", "https://example.invalid/x", 1, digest)
    monkeypatch.setattr(w, "RELEASES", (fake,))
    weights = w.import_weights(random_online)
    assert weights.path == folder / "scaled_online.pth" and weights.release == fake
    assert [i.verified for i in w.installed()] == [True]


def test_download_offline_says_so_once(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(w.WeightsError) as caught:
        w.download("offline", url="http://127.0.0.1:9/", timeout=2.0)
    message = str(caught.value)
    assert "looks offline" in message and "pose3d weights import" in message
    assert str(folder) in message and "2670d4562ed6" in message  # where to put it, which file
    assert not [p for p in folder.iterdir()]  # no partial file left
    code = main(["weights", "download", "--url", "http://127.0.0.1:9/", "--timeout", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: cannot download")


def test_download_verifies_the_hash(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = tmp_path / "served.pth"
    served.write_bytes(b"not the weights")
    with pytest.raises(w.WeightsError, match="nothing was installed"):
        w.download("offline", url=served.as_uri())
    assert not list(folder.iterdir())
    digest = hashlib.sha256(b"not the weights").hexdigest()
    fake = w.Release("scaled_offline.pth", "offline", served.as_uri(), 15, digest)
    monkeypatch.setattr(w, "RELEASES", (fake,))
    assert w.download("offline") == folder / "scaled_offline.pth"
    assert (folder / "scaled_offline.pth").read_bytes() == b"not the weights"


def test_without_weights_the_classical_tracker_is_chosen_with_one_notice(folder: Path) -> None:
    choice = make_tracker(None)
    assert isinstance(choice.tracker, ClassicalTracker)
    assert choice.notice is not None and "pose3d weights download" in choice.notice
    assert make_tracker("classical").notice is None
    with pytest.raises(Pose3dError, match=r"cotracker3 tracker needs its weights .* none are"):
        make_tracker("cotracker3")  # asked for by name: refused, not replaced


def test_cli_list_and_help(
    random_online: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["weights", "list"]) == 0
    assert "no CoTracker3 weights" in capsys.readouterr().out
    assert main(["weights", "import", str(random_online)]) == 2
    assert main(["weights", "import", str(random_online), "--force"]) == 0
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert "custom_online.pth" in out and "NOT verified" in out and "CC BY-NC" in out
    with pytest.raises(SystemExit):
        main(["weights", "--help"])
    assert "CC BY-NC 4.0" in capsys.readouterr().out


def test_a_variant_the_file_is_not_is_refused(random_online: Path, folder: Path) -> None:
    with pytest.raises(w.WeightsError, match="is the online CoTracker3 network's weights, not"):
        w.import_weights(random_online, force=True, variant="offline")
    assert not folder.exists() or not list(folder.glob("*.pth"))
    assert w.import_weights(random_online, force=True, variant="online").variant == "online"
