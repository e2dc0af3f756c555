# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""StartResourceStateUpdate: its rules as botocore's model documents them, its request, and what
imagebuilder_lifecycle_execution reads to tell whether a state update would still change anything (the image's
state by GetImage, the included AMIs' by EC2 DescribeImages), which makes state=started idempotent.
"""

import datetime

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.transformation import scrub_none_parameters

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import ami_exclusion_rules
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import ImageBuilderError
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import call
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import client_token
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import error_handler
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import regional_clients
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import status_of
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_execution import active_executions
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_execution import held_by_message
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_execution import wait_into
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_preview import ami_left_alone
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_preview import describe_amis


@error_handler("start a resource state update of {request[resourceArn]}")
def start_resource_state_update(client, request):
    """Start a state update; ``request`` holds the API parameters, clientToken included. Returns the answer, whose
    lifecycleExecutionId is there only when Image Builder started an execution (not for a change applied at once).

    The retry wrapper sends the very same parameters again, so every retry carries the same clientToken and a
    retried request can never start a second execution. When the image is busy, the error names the executions
    that hold it, so that the user can wait for them or cancel them.
    """
    try:
        return call(client.start_resource_state_update, "StartResourceStateUpdate", **request)
    except is_boto3_error_code("ResourceInUseException") as e:
        raise ImageBuilderError(message=busy_message(client, request["resourceArn"]), exception=e) from e


def busy_message(client, image_arn):
    """Why an image is busy. Its own listing shows only the executions that StartResourceStateUpdate started for it;
    one held by a lifecycle policy's execution is not among them."""
    try:
        busy = active_executions(client, image_arn)
    except ImageBuilderError as e:
        return f"Image {image_arn} is in use by a lifecycle execution ({e.message}: {e.exception})"
    if busy:
        return held_by_message(image_arn, busy)
    return (
        f"Image {image_arn} is in use by a lifecycle execution that is not among its own executions, so a lifecycle"
        " policy's execution holds it: list the executions of the lifecycle policies that cover the image"
        " (imagebuilder_lifecycle_execution_info with lifecycle_policy_arn) to find it"
    )


@error_handler("get image {image_arn}")
def get_image(client, image_arn):
    return call(client.get_image, "GetImage", "image", imageBuildVersionArn=image_arn)["image"]


def parse_update_at(value):
    """An ISO 8601 time as an aware datetime (UTC when no offset is given), or None when it is not one."""
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def includes_resources(params):
    """Whether a state update includes underlying resources: at least one of amis, snapshots, containers is true."""
    return any((params.get("include_resources") or {}).values())


def validate_state_update(params, now=None):
    """Messages for the options of a resource state update that the API would refuse (empty when all is well).

    The rules are StartResourceStateUpdate's, as botocore's model documents them.
    """
    errors = []
    state = params.get("resource_state")
    include = params.get("include_resources") or {}
    if params.get("execution_role") is not None and not includes_resources(params):
        errors.append("execution_role: can only be used with include_resources (amis, snapshots or containers true)")
    if includes_resources(params) and params.get("execution_role") is None:
        errors.append("include_resources: requires execution_role, the IAM role Image Builder updates them with")
    for kind in ("snapshots", "containers"):
        if include.get(kind) and state is not None and state != "deleted":
            errors.append(f"include_resources.{kind}: can only be true with resource_state=deleted")
    if state == "deleted" and not includes_resources(params):
        errors.append(
            "resource_state: deleted requires include_resources (amis, snapshots or containers true) and"
            " execution_role; to delete only the Image Builder image, use the DeleteImage API"
        )
    if params.get("update_at") is not None:
        when = parse_update_at(params["update_at"])
        if when is None:
            errors.append(f"update_at: {params['update_at']!r} is not an ISO 8601 time such as 2026-12-31T00:00:00Z")
        elif when <= (now or datetime.datetime.now(datetime.timezone.utc)):
            errors.append(f"update_at: {params['update_at']!r} is not in the future")
        if state != "deprecated":
            errors.append("update_at: can only be used with resource_state=deprecated")
    if ami_exclusion_rules.given(params.get("exclusion_rules")) and not include.get("amis"):
        errors.append("exclusion_rules: only take effect on AMIs, so they need include_resources.amis=true")
    errors += ami_exclusion_rules.errors("exclusion_rules", params.get("exclusion_rules"))
    return errors


def state_update_request(params, token):
    """The StartResourceStateUpdate parameters for imagebuilder_lifecycle_execution's options."""
    amis = ami_exclusion_rules.to_api(params.get("exclusion_rules"))
    request = {
        "resourceArn": params["image_arn"],
        "state": {"status": params["resource_state"].upper()},
        "clientToken": token,
        "includeResources": scrub_none_parameters(params["include_resources"]) if params["include_resources"] else None,
        "exclusionRules": {"amis": amis} if amis else None,
        "executionRole": params["execution_role"],
        "updateAt": parse_update_at(params["update_at"]) if params["update_at"] else None,
    }
    return scrub_none_parameters(request, descend_into_lists=False)


# StartResourceStateUpdate: "The image must be in one of these terminal states: AVAILABLE, DEPRECATED, DISABLED,
# FAILED, or CANCELLED. Images with FAILED or CANCELLED status can transition only to DELETED"; container images
# only to DELETED.
UPDATABLE_IMAGE_STATUSES = ("AVAILABLE", "DEPRECATED", "DISABLED", "FAILED", "CANCELLED")


def refused_transition(image_arn, image, wanted):
    """Why Image Builder would refuse to put ``image`` in the ``wanted`` status, or None when it would not."""
    current = status_of(image)
    if current is None:
        return None  # an answer without a state cannot tell: let Image Builder decide
    if current not in UPDATABLE_IMAGE_STATUSES:
        updatable = ", ".join(UPDATABLE_IMAGE_STATUSES)
        return f"Image {image_arn} is {current}: Image Builder updates only images that are {updatable}"
    if current in ("FAILED", "CANCELLED") and wanted != "DELETED":
        return f"Image {image_arn} is {current}: it can only go to resource_state=deleted"
    if image.get("type") == "DOCKER" and wanted != "DELETED":
        return f"Image {image_arn} is a container image: it can only go to resource_state=deleted"
    return None


def ami_resource_state(details, now):
    """An AMI's state in resource_state's words, from describe_amis' ``details`` (None: DescribeImages did not return
    it to its owner, so it is gone). EC2's ImageState has no "deprecated": a deprecated AMI is "available" with a
    DeprecationTime ("The date and time to deprecate the AMI") that has passed; one still to come is not deprecated
    yet, and not plainly available either."""
    if details is None or details.get("state") == "deregistered":
        return "deleted"
    if details.get("state") != "available":
        return details.get("state") or "unknown (DescribeImages gave no state)"
    when = details.get("deprecation_time")
    if when is None:
        return "available"
    return "deprecated" if when <= now else f"available, to be deprecated at {when.isoformat()}"


def unknowable(params, image_arn, image, rules):
    """Why the module cannot tell whether a state update with resources would still change something (None when it
    can, by reading the AMIs' state in EC2): see the module's notes."""
    if params["update_at"] is not None:
        return "update_at: Image Builder does not say whether the image is already scheduled for that deprecation"
    account = image_arn.split(":")[4]
    for ami in (image.get("outputResources") or {}).get("amis") or []:
        if not ami.get("image") or not ami.get("region"):
            return f"GetImage named an AMI without its ID or region ({ami}): its state cannot be read"
        if ami.get("accountId") != account and ami.get("region") not in (rules.get("regions") or ()):
            return f"AMI {ami['image']} in {ami['region']} is not owned by {account}: its state is not read"
    return None


def included_ami_states(image, rules, read_amis, now):
    """The state of each AMI of ``image`` that the request includes (those its exclusion rules leave alone are left
    out), by AMI ID. ``read_amis(region, ami_ids, shared_accounts)`` is one batched DescribeImages read per region."""
    amis = [
        ami
        for ami in (image.get("outputResources") or {}).get("amis") or []
        if ami.get("region") not in (rules.get("regions") or ())
    ]
    by_region = {}
    for ami in amis:
        by_region.setdefault(ami["region"], []).append(ami["image"])
    details = {}
    for region in sorted(by_region):
        details.update(read_amis(region, by_region[region], rules.get("sharedAccounts") or ()))
    states = {}
    for ami in amis:
        found = details.get(ami["image"])
        if not ami_left_alone(rules, dict(found or {}, region=ami["region"]), now):
            states[ami["image"]] = ami_resource_state(found, now)
    return states


def read_included_amis(module, params, image_arn, image, request, now):
    """(states, reason): the state of each AMI the request includes, by AMI ID, or None and why the module cannot tell
    (a failed EC2 read also gives a warning)."""
    rules = (request.get("exclusionRules") or {}).get("amis") or {}
    reason = unknowable(params, image_arn, image, rules)
    if reason:
        return None, reason
    ec2_for_region = regional_clients(module, "ec2")

    def read_amis(region, ami_ids, shared_accounts):
        # The preview's EC2 read: one DescribeImages per batch of AMIs (and per excluded account), never one per AMI.
        return describe_amis(ec2_for_region(region), region, ami_ids, shared_accounts)

    try:
        return included_ami_states(image, rules, read_amis, now), None
    except ImageBuilderError as e:
        reason = f"{e.message}: {e.exception}"
        module.warn(
            f"{reason}. Whether its AMIs are {params['resource_state']} already is unknown: the update is started"
        )
        return None, reason


def diff_of(before, amis, wanted, changed):
    """The image's state (and the included AMIs', when read) before and after."""
    diff = dict(before=dict(resource_state=before), after=dict(resource_state=wanted if changed else before))
    if amis is not None:
        diff["before"]["amis"] = dict(amis)
        diff["after"]["amis"] = {ami: wanted.lower() for ami in amis} if changed else dict(amis)
    return diff


def nothing_to_change(image_arn, wanted, amis):
    if wanted == "DELETED":
        return f"Image {image_arn} is DELETED already, and Image Builder updates no deleted image: nothing to change"
    if amis is None:
        return f"Image {image_arn} is {wanted} already: nothing to change"
    if not amis:
        return f"Image {image_arn} is {wanted} already, and the request includes none of its AMIs: nothing to change"
    amis_said = f"and so are the {len(amis)} AMIs the request includes"
    return f"Image {image_arn} is {wanted} already, {amis_said}: nothing to change"


def left_to_change(module, params, image, request):
    """(changed, amis, unknown): whether the state update would still change something; the state of the AMIs it
    includes, by AMI ID, when they were read; and why the module cannot tell, when it cannot (then it reports a
    change, as the service would act)."""
    wanted = params["resource_state"].upper()
    if status_of(image) != wanted:
        return True, None, None
    # StartResourceStateUpdate: "The image must be in one of these terminal states: AVAILABLE, DEPRECATED, DISABLED,
    # FAILED, or CANCELLED". No update changes anything of a DELETED image, whatever it includes.
    if wanted == "DELETED" or not runs_execution(params):
        return False, None, None
    now = datetime.datetime.now(datetime.timezone.utc)
    amis, unknown = read_included_amis(module, params, params["image_arn"], image, request, now)
    if amis is None:
        return True, None, unknown
    return bool(set(amis.values()) - {params["resource_state"]}), amis, None


def runs_execution(params):
    return includes_resources(params) or params["update_at"] is not None


def ensure_started(module, client):
    """state=started: start the state update unless nothing is left to change (check mode and --diff say what
    would), and wait for its execution if asked."""
    params = module.params
    image_arn = params["image_arn"]
    wanted = params["resource_state"].upper()
    request = state_update_request(params, client_token(params["client_token"]))
    result = dict(changed=True, resource_arn=image_arn)
    # What is left to change decides the run: the image's state and, with resources, the state of the AMIs the
    # request includes. The same reads tell check mode what the real run would do, and are what --diff shows. Only a
    # plain run of a scheduled deprecation (update_at), which no read can settle, reads nothing.
    if module.check_mode or module._diff or params["update_at"] is None:
        image = get_image(client, image_arn)
        result["changed"], amis, unknown = left_to_change(module, params, image, request)
        if unknown:
            result["msg"] = f"Image {image_arn} is {wanted} already; whether its resources are is unknown ({unknown})"
        if module._diff:
            result["diff"] = diff_of(status_of(image), amis, wanted, result["changed"])
        if not result["changed"]:
            return dict(result, lifecycle_execution_id=None, msg=nothing_to_change(image_arn, wanted, amis))
        refusal = refused_transition(image_arn, image, wanted)
        if refusal:
            module.fail_json(**dict(result, changed=False, msg=refusal))
    if module.check_mode:
        if runs_execution(params):
            # What refuses the real run: an execution that StartResourceStateUpdate started for it, still running.
            busy = active_executions(client, image_arn)
            if busy:
                module.fail_json(**dict(result, changed=False, msg=held_by_message(image_arn, busy)))
        return result
    answer = start_resource_state_update(client, request)
    # Every member of the answer is optional: no lifecycleExecutionId means the change applied at once.
    result.update(
        lifecycle_execution_id=answer.get("lifecycleExecutionId"),
        resource_arn=answer.get("resourceArn", image_arn),
    )
    if params["wait"] and result["lifecycle_execution_id"]:
        wait_into(module, client, result)
    return result
