"""Camera rig calibration: board detection, intrinsics, bundle adjustment, report; board images
(board_image), printing (board_print) and the ready board specs shipped as package data
(ready_boards, boards/*.toml)."""
