# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Canned Image Builder data shared by the unit tests, in the API's own (camelCase) shapes."""

import datetime

import botocore.session

EXECUTION_ID = "lce-0123abcd-4567-89ab-cdef-0123456789ab"
POLICY_ARN = "arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup"
IMAGE_ARN = "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/3"
T0 = datetime.datetime(2026, 11, 28, 6, 0, 0, tzinfo=datetime.timezone.utc)

# The largest page the installed botocore model allows (25 in botocore 1.43, 100 in 1.44): the modules ask for it.
PAGE_SIZE = (
    botocore.session.get_session()
    .get_service_model("imagebuilder")
    .operation_model("ListLifecycleExecutions")
    .input_shape.members["maxResults"]
    .metadata["max"]
)

# Long and unusual, so that Ansible's no_log masking can't hide a leak by coincidence.
FAKE_ACCESS_KEY = "AKIAUNITTESTQQZZXXWW"
FAKE_SECRET_KEY = "unit-test-secret-Zq8vW3xLp0Rt5yKm2NbH7cJd4FgS1aE6uIoP9wXz"


def execution(status="SUCCESS", execution_id=EXECUTION_ID, start=T0, **extra):
    answer = {
        "lifecycleExecutionId": execution_id,
        "lifecyclePolicyArn": POLICY_ARN,
        "resourcesImpactedSummary": {"hasImpactedResources": True},
        "state": {"status": status},
        "startTime": start,
    }
    answer.update(extra)
    return answer


def execution_id(n):
    return f"lce-00000000-0000-4000-8000-{n:012d}"
