"""``python -m pose3d`` runs the command line."""

import sys

from pose3d.cli import main

sys.exit(main())
