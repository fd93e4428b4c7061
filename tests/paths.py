"""Where the repository is, for tests that run its scripts and pages."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = REPO / "app_pages"
