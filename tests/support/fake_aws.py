# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fake AWS side of every test: credentials, region, account, ids and ARNs, and the page size the modules use."""

import botocore.session

REGION = "us-east-1"
ACCOUNT = "123456789012"

# Long and unusual on purpose: Ansible masks every no_log value wherever it appears in output, so a short or
# common fake could hide a leak, or be "found" where it is only a coincidence.
FAKE_ACCESS_KEY = "AKIAZZFAKEIMAGEBUILDEROPSTESTKEY7Q"
FAKE_SECRET_KEY = "zzFakeSecret/ImagebuilderOpsTestsOnly+NeverReal/k4Rw9Xv2Lm4Nb8Tk3Hs6Qp7Zr2Wd5"
FAKE_SESSION_TOKEN = "zzFakeSessionToken/ImagebuilderOpsTestsOnly+NeverReal/Jc1Vb4Yx8Gm3Tn6Ls9Pk2Hf5"
# The same as the environment variables botocore reads (and AWX's AWS credential type sets).
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
    "AWS_SESSION_TOKEN": FAKE_SESSION_TOKEN,
}
# What no output may ever show.
FAKE_SECRETS = (FAKE_SECRET_KEY, FAKE_SESSION_TOKEN)


def page_size(operation):
    """The largest page the installed botocore model allows for a listing (25 in botocore 1.43 and the 1.35 floor,
    100 in 1.44): the modules ask for it."""
    model = botocore.session.get_session().get_service_model("imagebuilder")
    return model.operation_model(operation).input_shape.members["maxResults"].metadata["max"]


PAGE_SIZE = page_size("ListLifecycleExecutions")
POLICY_PAGE_SIZE = page_size("ListLifecyclePolicies")


def execution_id(prefix, number):
    """A well-formed lifecycle execution id, as the local endpoint generates them: prefix is 8 hex digits."""
    return f"lce-{prefix}-0000-4000-a000-{number:012x}"


def policy_arn(name):
    return f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:lifecycle-policy/{name}"


def image_arn(name, build=1):
    return f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image/{name}/1.0.0/{build}"
