"""``python -m tuidesk`` runs the same command as the ``tuidesk`` script."""

import sys

from tuidesk.cli import main

sys.exit(main())
