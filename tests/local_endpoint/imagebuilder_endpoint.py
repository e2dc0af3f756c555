"""A local stand-in for the EC2 Image Builder lifecycle API and EC2 DescribeImages, for tests and benchmarks only.

    python tests/local_endpoint/imagebuilder_endpoint.py --scenario tests/local_endpoint/scenarios/demo.json

This file starts it (and keeps the import path tests/support uses); the package ``stand_in`` beside it is the
endpoint. See README.md in this directory.
"""

import os
import sys

__all__ = ["LocalEndpoint", "main"]  # LocalEndpoint: what tests/support/endpoint.py imports

if __package__:
    from .stand_in.server import LocalEndpoint
    from .stand_in.server import main
else:  # run by its path: the package sits beside this file
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from stand_in.server import main

if __name__ == "__main__":
    sys.exit(main())
