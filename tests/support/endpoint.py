# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The local Image Builder endpoint (tests/local_endpoint) in this process, so its request log and faults are at hand.

tests/local_endpoint is not in the built collection: this module works from a source copy only.
"""

import contextlib
from pathlib import Path

from ansible_collections.imagebuilder_ops.aws.tests.local_endpoint.imagebuilder_endpoint import LocalEndpoint

SCENARIOS = Path(__file__).resolve().parents[1] / "local_endpoint" / "scenarios"
# The services the endpoint answers on its one URL, as botocore names their AWS_ENDPOINT_URL_<SERVICE> variables: from
# the service id, upper case, spaces as underscores (Auto Scaling's is "Auto Scaling", so AUTO_SCALING).
SERVICES = ("IMAGEBUILDER", "EC2", "AUTO_SCALING", "RBIN")


def endpoint_environment(url):
    """botocore's ``AWS_ENDPOINT_URL_<SERVICE>`` of every service the endpoint answers, all ``url``: a client made
    without ``endpoint_url`` (the preview's EC2, Auto Scaling and Recycle Bin clients) reaches it too."""
    return {f"AWS_ENDPOINT_URL_{service}": url for service in SERVICES}


@contextlib.contextmanager
def local_endpoint(scenario):
    """Serve ``scenario`` on a free loopback port until the block ends.

    ``scenario``: a scenario document (dict), or the name of one in tests/local_endpoint/scenarios ("demo").
    """
    if isinstance(scenario, str):
        scenario = str(SCENARIOS / f"{scenario}.json")
    with LocalEndpoint(scenario) as endpoint:
        yield endpoint
