"""argparse types shared by the commands."""

from __future__ import annotations

import argparse


def parse_list(text: str) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]``."""
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_tapir_side(text: str) -> int:
    """``--tapir-side N``: BootsTAPIR's model size (long side, pixels), at least 256."""
    try:
        side = int(text)
    except ValueError:
        side = 0
    if side < 256:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be a whole number of pixels from 256 (BootsTAPIR's training size, the "
            "default), e.g. 512 to refine again at up to 512 px (finer, about 4x slower)"
        )
    return side


TAPIR_SIDE_HELP = (
    "tapir only: track at this long side in pixels (default 256, the network's training size, "
    "at which TAP-Vid's figures are published; 512 refines again at up to 512 px: finer, about "
    "4x slower; never more than the frames' own size)"
)


def parse_edges(text: str) -> list[tuple[str, str]]:
    """``"nose-neck,neck-tail"`` -> ``[("nose", "neck"), ("neck", "tail")]``."""
    edges = []
    for item in parse_list(text):
        parts = item.split("-")
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(
                f"edge {item!r} must be two keypoints joined by '-', e.g. nose-neck"
            )
        edges.append((parts[0], parts[1]))
    return edges


def parse_camera(text: str) -> tuple[str, str]:
    """``"cam0=videos/cam0.mp4"`` -> ``("cam0", "videos/cam0.mp4")``."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"camera {text!r} must be NAME=VIDEO, e.g. cam0=cam0.mp4")
    return name, path
