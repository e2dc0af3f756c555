# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Canned Image Builder data shared by the unit tests, in the API's own (camelCase) shapes."""

import datetime

from ansible_collections.imagebuilder_ops.aws.tests.support import fake_aws

EXECUTION_ID = "lce-0123abcd-4567-89ab-cdef-0123456789ab"
POLICY_ARN = "arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup"
IMAGE_ARN = "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/3"
T0 = datetime.datetime(2026, 11, 28, 6, 0, 0, tzinfo=datetime.timezone.utc)

# The shared page size and fake credentials (tests/support), under the names the unit tests use.
PAGE_SIZE = fake_aws.PAGE_SIZE
POLICY_PAGE_SIZE = fake_aws.POLICY_PAGE_SIZE
FAKE_ACCESS_KEY = fake_aws.FAKE_ACCESS_KEY
FAKE_SECRET_KEY = fake_aws.FAKE_SECRET_KEY


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
