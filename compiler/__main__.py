"""`python -m compiler` runs the doctrine command line."""

import sys

from .tools.cli import main

sys.exit(main())
