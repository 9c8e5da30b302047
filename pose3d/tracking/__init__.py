"""Point trackers: propagate labeled keypoints through a video (torch lives only in this room)."""
