"""`python -m inbound` is the `inbound` command."""

import sys

from inbound.cli import main

sys.exit(main())
