"""``python -m policykb`` runs the command line."""

import sys

from policykb.cli import main

sys.exit(main())
