"""``python -m pyiron_appmlip.reproduction.like_for_like``: the side-by-side report."""

import sys

from pyiron_appmlip.reproduction.like_for_like.cli import main

if __name__ == "__main__":
    sys.exit(main())
