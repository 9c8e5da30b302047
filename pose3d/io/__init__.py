"""Readers and writers of every file pose3d touches."""
