# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""EC2 Image Builder lifecycle executions: reading one, listing a policy's or an image's, the resources it impacted
as a tree, cancelling one, and waiting until one is terminal. Used by both execution modules and the event source;
starting one (StartResourceStateUpdate) is resource_state_update.py's.
"""

from ansible_collections.amazon.aws.plugins.module_utils.transformation import scrub_none_parameters

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import IMAGE_BUILD_VERSION_ARN
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import Form
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import ImageBuilderError
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import WaitTimeout
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import call
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import client_token
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import error_handler
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import is_refusal
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import matches
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import normalize
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import paginate
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import status_of
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import wait_until

TERMINAL_STATUSES = frozenset(("SUCCESS", "FAILED", "CANCELLED"))
# Statuses in which an execution still holds its image: a second execution on it is refused.
ACTIVE_STATUSES = frozenset(("PENDING", "IN_PROGRESS", "CANCELLING"))

# The model types ParentResourceId as any string of 1 to 1024 characters, but documents it as the ARN of an image
# build version of the execution (a resource_id at the top level); anything else, an AMI ID included, lists nothing.
PARENT_RESOURCE_ID = Form(
    IMAGE_BUILD_VERSION_ARN.pattern,
    IMAGE_BUILD_VERSION_ARN.description + " (the resource_id of an image among the execution's top-level resources)",
)

# Image Builder's PENDING: "processing is paused; it resumes during the next scheduled run", and lifecycle policies
# run once a day (EC2 Image Builder User Guide, "How lifecycle policy execution works").
PENDING_HINT = (
    "PENDING means Image Builder paused the execution until the next scheduled run of lifecycle policies, which"
    " run once a day: wait again later, or give wait_timeout up to a day (86400)"
)


@error_handler("get lifecycle execution {lifecycle_execution_id}")
def get_lifecycle_execution(client, lifecycle_execution_id):
    answer = call(
        client.get_lifecycle_execution,
        "GetLifecycleExecution",
        "lifecycleExecution",
        lifecycleExecutionId=lifecycle_execution_id,
    )
    return answer["lifecycleExecution"]


@error_handler("list the lifecycle executions of {resource_arn}")
def list_lifecycle_executions(client, resource_arn):
    """The executions of a lifecycle policy, or those that StartResourceStateUpdate started for an image build
    version: ListLifecycleExecutions takes either ARN as resourceArn."""
    executions = paginate(
        client,
        client.list_lifecycle_executions,
        "ListLifecycleExecutions",
        "lifecycleExecutions",
        resourceArn=resource_arn,
    )
    return sort_newest_first(executions)


@error_handler("list the resources of lifecycle execution {lifecycle_execution_id}")
def list_lifecycle_execution_resources(client, lifecycle_execution_id, parent_resource_id=None):
    return paginate(
        client,
        client.list_lifecycle_execution_resources,
        "ListLifecycleExecutionResources",
        "resources",
        **scrub_none_parameters(
            {"lifecycleExecutionId": lifecycle_execution_id, "parentResourceId": parent_resource_id}
        ),
    )


def list_impacted_resources(client, lifecycle_execution_id):
    """What an execution did, as a tree: the Image Builder images it listed at the top level, each with the AMIs,
    snapshots and containers that the service lists under it (parentResourceId = the image's ARN) as
    ``childResources``. Resources whose ID is not an image build version ARN have no children to ask for."""
    resources = list_lifecycle_execution_resources(client, lifecycle_execution_id)
    for resource in resources:
        if matches(IMAGE_BUILD_VERSION_ARN, resource.get("resourceId")):
            resource["childResources"] = list_lifecycle_execution_resources(
                client, lifecycle_execution_id, resource["resourceId"]
            )
    return resources


@error_handler("cancel lifecycle execution {lifecycle_execution_id}")
def cancel_lifecycle_execution(client, lifecycle_execution_id, token):
    return call(
        client.cancel_lifecycle_execution,
        "CancelLifecycleExecution",
        lifecycleExecutionId=lifecycle_execution_id,
        clientToken=token,
    )


def active_executions(client, image_arn):
    return [e for e in list_lifecycle_executions(client, image_arn) if status_of(e) in ACTIVE_STATUSES]


def held_by_message(image_arn, busy):
    held_by = ", ".join(f"{e.get('lifecycleExecutionId')} ({status_of(e)})" for e in busy)
    return f"Image {image_arn} already has a lifecycle execution in progress: {held_by}"


def sort_newest_first(executions):
    # An execution that has not started yet has no startTime: it is the newest of all.
    return sorted(
        executions,
        key=lambda e: (e.get("startTime") is None, e.get("startTime") or 0),
        reverse=True,
    )


def is_terminal(lifecycle_execution):
    # An answer without a status is not terminal.
    return status_of(lifecycle_execution) in TERMINAL_STATUSES


def is_cancellable(lifecycle_execution):
    # An answer without a status cannot tell: ask for the cancellation and let Image Builder decide.
    return status_of(lifecycle_execution) not in TERMINAL_STATUSES | {"CANCELLING"}


def timeout_message(lifecycle_execution_id):
    """What a wait for the execution that runs out says: the last status seen, and why PENDING lasts."""

    def describe(lifecycle_execution, waited):
        last = status_of(lifecycle_execution)
        message = (
            f"Timed out after {waited:.0f} seconds waiting for lifecycle execution {lifecycle_execution_id} to"
            f" finish; last status seen: {last or 'none (the answer had no state)'}"
        )
        return f"{message}. {PENDING_HINT}" if last == "PENDING" else message

    return describe


def wait_for_lifecycle_execution(client, lifecycle_execution_id, wait_timeout, wait_sleep, clock=None, sleep=None):
    """The execution once it is terminal (one GetLifecycleExecution per poll); WaitTimeout with the last one seen."""
    return wait_until(
        lambda: get_lifecycle_execution(client, lifecycle_execution_id),
        is_terminal,
        wait_timeout,
        wait_sleep,
        timeout_message(lifecycle_execution_id),
        clock=clock,
        sleep=sleep,
    )


def describe_lifecycle_execution(
    client,
    lifecycle_execution_id,
    wait=False,
    wait_timeout=None,
    wait_sleep=None,
    include_resources=False,
    parent_resource_id=None,
    clock=None,
    sleep=None,
):
    """What the modules return for one execution: read it (waiting if asked), then its resources if asked, as the
    tree of images and their resources, or flat under ``parent_resource_id``.

    Returns the normalised execution; a wait that runs out raises WaitTimeout.
    """
    if wait:
        lifecycle_execution = wait_for_lifecycle_execution(
            client, lifecycle_execution_id, wait_timeout, wait_sleep, clock=clock, sleep=sleep
        )
    else:
        lifecycle_execution = get_lifecycle_execution(client, lifecycle_execution_id)

    if parent_resource_id is not None:
        lifecycle_execution["resources"] = list_lifecycle_execution_resources(
            client, lifecycle_execution_id, parent_resource_id
        )
    elif include_resources:
        lifecycle_execution["resources"] = list_impacted_resources(client, lifecycle_execution_id)
    return normalize(lifecycle_execution)


# --- what imagebuilder_lifecycle_execution does with an execution ---------------------------------------------------


def wait_into(module, client, result):
    """Wait for the execution of ``result``, add it to ``result``, and fail with all of ``result`` on a timeout."""
    try:
        result["lifecycle_execution"] = describe_lifecycle_execution(
            client,
            result["lifecycle_execution_id"],
            wait=True,
            wait_timeout=module.params["wait_timeout"],
            wait_sleep=module.params["wait_sleep"],
        )
    except WaitTimeout as e:
        result["lifecycle_execution"] = normalize(e.last)
        module.fail_json(msg=e.message, **result)


def ensure_cancelled(module, client):
    """state=cancelled: cancel the execution unless it has ended or is being cancelled (check mode and --diff say
    which), and wait for it if asked."""
    lifecycle_execution_id = module.params["lifecycle_execution_id"]
    current = get_lifecycle_execution(client, lifecycle_execution_id)
    result = dict(changed=is_cancellable(current), lifecycle_execution_id=lifecycle_execution_id)
    if module._diff:  # pylint: disable=protected-access
        before = status_of(current)
        result["diff"] = dict(
            before=dict(status=before), after=dict(status="CANCELLING" if result["changed"] else before)
        )
    if result["changed"] and not module.check_mode:
        try:
            cancel_lifecycle_execution(client, lifecycle_execution_id, client_token(module.params["client_token"]))
        except ImageBuilderError as e:
            # Refused because it ended between our read and the cancellation? Then there was nothing to cancel.
            if not is_refusal(e):
                raise
            current = get_lifecycle_execution(client, lifecycle_execution_id)
            if is_cancellable(current):
                raise
            result["changed"] = False
    result["lifecycle_execution"] = normalize(current)
    # An execution we saw end needs no poll; one we just cancelled is still going.
    if module.params["wait"] and not module.check_mode and not is_terminal(current):
        wait_into(module, client, result)
    return result
