"""Point trackers: propagate labeled keypoints through a video (torch lives only in this room).

Modules (nothing heavy is imported here; torch only by the cotracker3 ones):

- base: the PointTracker protocol, TrackResult, frame windows; (t, x, y) queries, (T, N, ...)
- classical: pyramidal Lucas-Kanade with a forward-backward check (no weights needed)
- cotracker3/: our CoTracker3 network and predictor; cotracker3_tracker: it as a PointTracker
- weights: download / import / list the CoTracker3 weights (CC BY-NC, never bundled)
- registry: tracker selection by name, with the fallback to classical
- queries: manual anchors (points, hidden marks) -> queries and the gaps between them
- fill: a gap filled from its anchors' tracks (blended; hidden after a hidden mark)
- propagate: labels.nc -> queries -> tracks -> merged labels.nc + review flags
- review: the review flags, their thresholds and the ranked review queue
- consensus: the calibrated views' consensus on a point (multi-view check, MULTI_VIEW score)
"""
