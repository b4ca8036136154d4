"""python -m hedge_run ..."""
import sys

from hedge_run.cli import main

sys.exit(main())
