"""``python -m shotpack``: the ``shotpack`` command."""

import sys

from shotpack.cli import main

sys.exit(main())
