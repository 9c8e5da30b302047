"""The single source of dimension, variable and attribute names.

No dim or variable name is typed anywhere else: import it from here. The layouts follow
movement's (>= 0.17) poses datasets, with singular dim names.

labels.nc (2D):  position[time, view, space(x, y), keypoint, individual]   px
                 confidence, source, review [time, view, keypoint, individual]
                 hidden [time, view, keypoint, individual]: bool, someone (``source``) says the
                 keypoint is not visible here (position NaN); absent in older files (all False)
                 optional, written by the tracker (pose3d.tracking): visibility, fb_error (px),
                 review_score, review_reason [time, view, keypoint, individual]
poses3d.nc (3D): position[time, space(x, y, z), keypoint, individual]      space_unit
                 confidence, reprojection_error (px), n_views [time, keypoint, individual]
"""

from __future__ import annotations

from enum import IntEnum

SCHEMA_VERSION = 1

# dims
TIME = "time"
VIEW = "view"
SPACE = "space"
KEYPOINT = "keypoint"
INDIVIDUAL = "individual"

# calibration detections (calibration/detections.nc)
FRAME = "frame"
CORNER = "corner"
CORNERS = "corners"
IMAGE_SIZE = "image_size"
SIZE = "size"  # (width, height)

SPACE_2D = ("x", "y")
SPACE_3D = ("x", "y", "z")

# variables
POSITION = "position"
CONFIDENCE = "confidence"
SOURCE = "source"
REVIEW = "review"
# bool: the keypoint is not visible here, said by the cell's ``source`` (a person, a tracker, a
# file); position NaN there. "Not labelled yet" is hidden False with source none.
HIDDEN = "hidden"
REPROJECTION_ERROR = "reprojection_error"
N_VIEWS = "n_views"
# optional labels.nc variables written by the tracker (pose3d.tracking); NaN / 0 where unset
VISIBILITY = "visibility"  # float: the tracker's probability that the point is in view
FB_ERROR = "fb_error"  # float px: forward-backward disagreement of a tracked point
# float px: distance to a second tracker's track from the same queries (a second opinion)
DISAGREEMENT = "disagreement"
REVIEW_SCORE = "review_score"  # float: worst flag score, >= 1 means flagged (review = True)
REVIEW_REASON = "review_reason"  # int8 ReviewReason of that score

# the largest coordinates a file may hold; beyond them it is damaged (refused on read and write)
MAX_LABEL_PX = 1e6  # |x|, |y| of a 2D point: 100x the largest camera sensors
MAX_POSE_UNITS = 1e9  # |x|, |y|, |z| of a 3D point: 1000 km in mm

# attributes
ATTR_SCHEMA_VERSION = "pose3d_schema_version"
ATTR_KIND = "pose3d_kind"  # "labels" or "poses3d"
ATTR_DS_TYPE = "ds_type"
ATTR_SOURCE_SOFTWARE = "source_software"
ATTR_FPS = "fps"
ATTR_TIME_UNIT = "time_unit"
ATTR_SPACE_UNIT = "space_unit"
ATTR_UNIT = "unit"

SOURCE_SOFTWARE = "pose3d"
DS_TYPE_POSES = "poses"
KIND_LABELS = "labels"
KIND_POSES3D = "poses3d"
KIND_DETECTIONS = "detections"

LABEL_DIMS = {
    POSITION: (TIME, VIEW, SPACE, KEYPOINT, INDIVIDUAL),
    CONFIDENCE: (TIME, VIEW, KEYPOINT, INDIVIDUAL),
    SOURCE: (TIME, VIEW, KEYPOINT, INDIVIDUAL),
    REVIEW: (TIME, VIEW, KEYPOINT, INDIVIDUAL),
}
# optional on read (a file written before it loads as all False), written by new_labels
MARK_DIMS = {
    HIDDEN: (TIME, VIEW, KEYPOINT, INDIVIDUAL),
}
TRACK_DIMS = {
    VISIBILITY: (TIME, VIEW, KEYPOINT, INDIVIDUAL),
    FB_ERROR: (TIME, VIEW, KEYPOINT, INDIVIDUAL),
    DISAGREEMENT: (TIME, VIEW, KEYPOINT, INDIVIDUAL),
    REVIEW_SCORE: (TIME, VIEW, KEYPOINT, INDIVIDUAL),
    REVIEW_REASON: (TIME, VIEW, KEYPOINT, INDIVIDUAL),
}
POSES3D_DIMS = {
    POSITION: (TIME, SPACE, KEYPOINT, INDIVIDUAL),
    CONFIDENCE: (TIME, KEYPOINT, INDIVIDUAL),
    REPROJECTION_ERROR: (TIME, KEYPOINT, INDIVIDUAL),
    N_VIEWS: (TIME, KEYPOINT, INDIVIDUAL),
}


class PointSource(IntEnum):
    """Where a 2D point came from; stored as int8 in labels.nc's ``source``."""

    NONE = 0
    MANUAL = 1
    TRACKED = 2
    IMPORTED = 3
    REPROJECTED = 4


class ReviewReason(IntEnum):
    """Why a tracked point is flagged for review; stored as int8 in labels.nc's review_reason."""

    NONE = 0
    LOW_VISIBILITY = 1  # the tracker thinks the point is hidden
    LOW_CONFIDENCE = 2  # the tracker doubts the position
    FORWARD_BACKWARD = 3  # the tracks from the manual frames on either side disagree
    JUMP = 4  # the point moved much further than its usual step
    MULTI_VIEW = 5  # far from the reprojection of the other views' triangulation
    DISAGREEMENT = 6  # a second tracker, from the same queries, puts the point elsewhere
