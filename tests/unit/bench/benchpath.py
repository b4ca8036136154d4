"""bench/ (the benchmark's scripts, not part of the collection) on sys.path for its unit tests."""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BENCH = REPO / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
