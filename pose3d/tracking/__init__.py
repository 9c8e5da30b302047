"""Point trackers: propagate labeled keypoints through a video (torch lives only in this room).

Modules (nothing heavy is imported here; torch only by the learned trackers' ones):

- base: the PointTracker protocol, TrackResult, frame windows; (t, x, y) queries, (T, N, ...)
- classical: pyramidal Lucas-Kanade with a forward-backward check (no weights needed)
- cotracker3/: our CoTracker3 network and predictor; cotracker3_tracker: it as a PointTracker
- tapir/: our BootsTAPIR (TAPIR) network and predictor; tapir_tracker: it as a PointTracker
- checkpoint: strict loading of a weights file into either network
- weights (+ weights_files, weights_tapir): download / import / list the learned trackers'
  weights (CoTracker3 CC BY-NC, BootsTAPIR Apache 2.0 / CC BY 4.0; never bundled)
- registry: tracker selection by name, the default order, the fallback to classical
- queries: manual anchors (points, hidden marks) -> queries and the gaps between them
- fill: a gap filled from its anchors' tracks (blended; hidden after a hidden mark)
- propagate: labels.nc -> queries -> tracks (and a second tracker's opinion) -> merged
  labels.nc + review flags
- review: the review flags, their thresholds and the ranked review queue
- consensus: the calibrated views' consensus on a point (multi-view check, MULTI_VIEW score)
"""
