"""pose3d: from multi-camera videos to validated 3D skeletons."""

__version__ = "0.1.0"
