"""``python -m vizlib.microscope``: regenerate the microscope page (see the package docstring)."""
import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
