"""`python -m mnist_mlp`: the command line (see `mnist_mlp.cli`)."""

import sys

from mnist_mlp.cli import main

sys.exit(main())
