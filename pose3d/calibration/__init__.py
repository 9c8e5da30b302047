"""Camera rig calibration: board detection, intrinsics, bundle adjustment, report."""
