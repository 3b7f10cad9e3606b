"""`python -m mnist_mlp`: the command line (see `mnist_mlp.cli`)."""

import sys

from mnist_mlp.cli import main

if __name__ == "__main__":  # not when a worker process imports it (spawn)
    sys.exit(main())
