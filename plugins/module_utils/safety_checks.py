# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the safety checks (in use, recoverable, storage freed) share: how a read that cannot answer becomes "unknown"
with a reason, never a traceback and never "safe", and the cases of these checks that the sources leave open.

A check cannot answer when the installed botocore lacks the operation or a member of its answer (an older botocore
drops members it does not know, silently), when the caller is denied, or when the read fails after our retries. Each
becomes an ``Unchecked`` naming what was not checked and why.
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_open_cases
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_open_cases import OpenCase

# The botocore release that brought each operation or member these checks read (its changelog), for the reason shown
# when the installed one lacks it.
SINCE = {
    "DescribeImageReferences": "1.40.18",
    "ExcludeResourceTags": "1.35.66",
    "LaunchTemplateOverrides.ImageId": "1.41.1",
}

# EC2 answers a denied call with UnauthorizedOperation; Auto Scaling (query protocol) and Recycle Bin (JSON) with
# AccessDenied or AccessDeniedException.
DENIED_CODES = ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException")


class Unchecked(Exception):
    """A kind of check that could not be made, and why (``reason`` is said to the user as is)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def botocore_version():
    return botocore.__version__


def lacks_operation(client, operation_name):
    """Why ``client``'s service model cannot make ``operation_name``, or None when it can."""
    if operation_name in client.meta.service_model.operation_names:
        return None
    since = f" (it arrived in botocore {SINCE[operation_name]})" if operation_name in SINCE else ""
    return f"the installed botocore {botocore_version()} lacks {operation_name}{since}"


def lacks_member(client, shape_name, member):
    """Why answers of ``client``'s service cannot carry ``member`` of ``shape_name``, or None when they can: botocore
    drops a member its model does not name, so its absence would read as "none"."""
    if member in client.meta.service_model.shape_for(shape_name).members:
        return None
    name = f"{shape_name}.{member}"
    since = SINCE.get(name) or SINCE.get(member)
    return f"the installed botocore {botocore_version()} lacks {name}" + (
        f" (it arrived in botocore {since})" if since else ""
    )


def reason_of(error, action):
    """The reason said for a read that failed: denied (naming the IAM action to grant), or the failure itself."""
    cause = getattr(error, "exception", error)
    if isinstance(cause, botocore.exceptions.ClientError):
        code = cause.response.get("Error", {}).get("Code")
        if code in DENIED_CODES:
            return f"denied {action} ({code})"
        return f"{action} failed: {code}"
    return f"{action} failed: {getattr(error, 'message', None) or cause}"


def checked(action, read, *args, **kwargs):
    """``read(*args, **kwargs)``, or Unchecked when it fails (denied, or failing after our retries); ``action`` is the
    IAM action the read needs, such as ``ec2:DescribeInstances``."""
    try:
        return read(*args, **kwargs)
    except (common.ImageBuilderError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        raise Unchecked(reason_of(e, action)) from e


def batches(values, size):
    """``values`` (sorted, each once) in lists of at most ``size``."""
    ordered = sorted(set(values))
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


# The cases of these checks that the sources leave open, in lifecycle_open_cases' form. None has readings the preview
# is computed again under: each is said where it is met, with the reading shown (the one that promises less).
OPEN_CASES = (
    OpenCase(
        case="deregistration_protection",
        question="What Image Builder does and reports when a lifecycle action deletes an AMI that has deregistration"
        " protection: a failed resource, a skipped one, or a failed run.",
        shown="the AMI is not deleted ('blocked'), and what the run reports is not known",
        readings=(),
        sources=(
            "EC2 API Reference, EnableImageDeregistrationProtection: 'When deregistration protection is enabled, the"
            " AMI can't be deregistered.'",
            "the Image Builder user guide: nothing on deregistration protection in a lifecycle policy's run",
        ),
    ),
    OpenCase(
        case="exclusion_tags_match",
        question="Whether a Region-level Recycle Bin rule ignores a resource that has any one of its exclusion tags,"
        " or only one that has all of them.",
        shown="any one exclusion tag excludes the resource (fewer resources are shown recoverable)",
        readings=(),
        sources=(
            "botocore rbin model, GetRuleResponse.ExcludeResourceTags: '[Region-level retention rules only]"
            " Information about the exclusion tags used to identify resources that are to be excluded, or ignored, by"
            " the retention rule.'",
            "Recycle Bin API Reference, CreateRule: 'you can specify exclusion tags to exclude resources that have"
            " specific tags.'",
        ),
    ),
    OpenCase(
        case="rule_tag_without_value",
        question="Which resources a Recycle Bin rule's tag with a key and no value matches: any value of that key, or"
        " only an empty value.",
        shown="a rule's tag without a value retains only a resource whose tag has that key and an empty value; an"
        " exclusion tag without a value excludes every value of its key (either way, fewer resources are shown"
        " recoverable)",
        readings=(),
        sources=(
            "botocore rbin model, ResourceTag: ResourceTagKey is required, ResourceTagValue is not",
            "EBS user guide, Work with Recycle Bin retention rules: 'Resources of the specified type that are tagged"
            " with at least one of the tag key and value pairs that are specified in the retention rule are"
            " automatically retained'",
        ),
    ),
)

OPEN_CASE = {case.case: case for case in OPEN_CASES}


def listed(case_ids):
    """The cases named, of these checks' registry and of the lifecycle rules' (last_launched_delay), as
    lifecycle_open_cases.listed lists them."""
    return lifecycle_open_cases.listed(case_ids) + [
        {"case": case.case, "question": case.question, "shown": case.shown, "sources": list(case.sources)}
        for case in OPEN_CASES
        if case.case in case_ids
    ]
