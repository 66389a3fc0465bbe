import sys

from wsframes.cli import main

sys.exit(main())
