import sys

from xlpt.cli import main

sys.exit(main())
