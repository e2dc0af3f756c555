#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: imagebuilder_lifecycle_execution
version_added: 1.0.0
short_description: Start or cancel EC2 Image Builder lifecycle executions
description:
  - With O(state=started), changes the state of an image build version and, if asked, of its AMIs, snapshots and
    container images, on demand (C(StartResourceStateUpdate)). When the request includes resources or an
    O(update_at) far enough in the future, Image Builder runs the change as a lifecycle execution, whose ID is
    returned; otherwise it applies the change at once and there is no execution.
  - With O(state=cancelled), stops a lifecycle execution that is still running (C(CancelLifecycleExecution)).
  - Either way the module can wait until the execution reaches a terminal status, exactly as
    M(imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info) does, and return it.
  - Every request carries one idempotency token per task, reused on every retry, so a retried request can never
    start or cancel twice.
author:
  - imagebuilder_ops maintainers (@imagebuilder-ops)
options:
  state:
    description:
      - V(started) starts a resource state update of O(image_arn), unless nothing is left to change, that is when
        the image is in O(resource_state) already and so is every resource the request includes (see the notes for
        how the module tells, and for the cases it cannot). Then it makes no write, returns C(changed=false) and
        says why in RV(msg).
      - V(cancelled) cancels O(lifecycle_execution_id). Nothing changes when the execution is already C(SUCCESS),
        C(FAILED), C(CANCELLED) or C(CANCELLING).
    type: str
    required: true
    choices: [started, cancelled]
  image_arn:
    description:
      - The image build version to update, such as
        C(arn:aws:imagebuilder:us-east-1:123456789012:image/my-image/1.0.0/1).
      - Required with O(state=started).
    type: str
  resource_state:
    description:
      - The state to put the image build version (and the resources chosen with O(include_resources)) in.
      - Required with O(state=started).
      - V(deleted) needs O(include_resources) (and so O(execution_role)); to delete only the Image Builder image,
        without its AMIs, snapshots or containers, use the C(DeleteImage) API.
      - Images in the C(FAILED) or C(CANCELLED) state can only go to V(deleted), and container images have only
        V(deleted).
    type: str
    choices: [AVAILABLE, DEPRECATED, DISABLED, DELETED, available, deprecated, disabled, deleted]
  include_resources:
    description:
      - Which resources of the image build version change too.
      - Resources are included when at least one of these is V(true); they need O(execution_role), and Image
        Builder then runs the change as a lifecycle execution.
    type: dict
    suboptions:
      amis:
        description: Its AMIs.
        type: bool
      snapshots:
        description: The EBS snapshots of its AMIs. Only with O(resource_state=deleted).
        type: bool
      containers:
        description: Its container images. Only with O(resource_state=deleted).
        type: bool
  exclusion_rules:
    description:
      - AMIs that are left alone, with their snapshots (the API's C(exclusionRules.amis)).
      - They only take effect on AMIs, so they need O(include_resources.amis=true).
      - With O(resource_state=deleted), an image any of whose AMIs was left alone is kept too; with V(deprecated)
        and V(disabled) the image's own state changes regardless.
    type: dict
    suboptions:
      is_public:
        description: Leave public AMIs alone.
        type: bool
      regions:
        description: Leave the AMIs in these regions alone.
        type: list
        elements: str
      shared_accounts:
        description: Leave alone the AMIs shared with these AWS accounts (12-digit IDs).
        type: list
        elements: str
      last_launched:
        description: Leave alone the AMIs launched in this recent period.
        type: dict
        suboptions:
          value:
            description: How many units, from 1 to 365.
            type: int
            required: true
          unit:
            description: The unit of O(exclusion_rules.last_launched.value).
            type: str
            required: true
            choices: [DAYS, WEEKS, MONTHS, YEARS, days, weeks, months, years]
      tag_map:
        description: Leave alone the AMIs that carry any of these tags.
        type: dict
  execution_role:
    description:
      - The IAM role name or ARN that Image Builder uses to update the resources.
      - Goes together with O(include_resources), and neither is valid without the other.
    type: str
  update_at:
    description:
      - When to deprecate, as an ISO 8601 time in the future such as C(2030-12-31T00:00:00Z); UTC when no offset
        is given.
      - Only with O(resource_state=deprecated). Included AMIs get their EC2 deprecation time set at once; the image
        becomes C(DEPRECATED) at that time.
    type: str
  client_token:
    description:
      - The idempotency token of the request, 1 to 64 characters.
      - By default the module makes a new one for each task and reuses it on every retry of the request. Give
        your own to make a re-run of the task answer with the execution that the first run started.
    type: str
  lifecycle_execution_id:
    description:
      - The lifecycle execution to cancel, such as C(lce-0123abcd-4567-89ab-cdef-0123456789ab).
      - Required with O(state=cancelled).
    type: str
notes:
  - "IAM permissions: O(state=started) calls C(imagebuilder:StartResourceStateUpdate) (with C(iam:PassRole) on
    O(execution_role)); C(imagebuilder:GetImage) first, except for a plain run with O(update_at);
    C(ec2:DescribeImages) in the regions of the image's AMIs when the image is in O(resource_state) already and
    O(include_resources.amis=true) (not for V(deleted)); C(imagebuilder:ListLifecycleExecutions) to name what
    holds a busy image, and in check mode when resources are included. O(state=cancelled) calls
    C(imagebuilder:GetLifecycleExecution) and C(imagebuilder:CancelLifecycleExecution). O(wait=true) calls
    C(imagebuilder:GetLifecycleExecution) once per poll. It makes no other call."
  - "How O(state=started) tells that nothing is left to change: C(GetImage) gives the image's state and its AMIs
    (C(outputResources.amis)). An image that is C(DELETED) already has nothing left to change, whatever the request
    includes, since Image Builder updates no C(DELETED) image. When the image is in another O(resource_state) already
    and the request includes AMIs, EC2 C(DescribeImages) reads them, one request per region (and per account of
    O(exclusion_rules.shared_accounts)), with C(Owners=self), C(IncludeDeprecated) and C(IncludeDisabled). An AMI
    that O(exclusion_rules) leave alone does not count, when they leave it alone under every reading of the cases
    the sources leave open (as M(imagebuilder_ops.aws.imagebuilder_lifecycle_policy_preview_info) reads them).
    Every other AMI must be, for V(deprecated), C(available) with a C(DeprecationTime) that has passed (a deprecation
    time still to come is not deprecated yet); for V(disabled), C(disabled); for V(available), C(available) without
    a C(DeprecationTime). An AMI that C(DescribeImages) does not return (gone, or not allowed by EC2's Allowed AMIs)
    is in none of these states."
  - "Where the module cannot tell, it starts the update as before, and RV(msg) says why: with O(update_at) (Image
    Builder does not say whether a deprecation is already scheduled); when an AMI is owned by another account than
    the image (distributed to it), unless O(exclusion_rules.regions) leaves it alone; and when C(DescribeImages)
    fails, for example without C(ec2:DescribeImages), which also gives a warning. Snapshots and containers are only
    ever included with O(resource_state=deleted), which the image's own state settles. With
    O(resource_state=deleted) and an AMI that O(exclusion_rules) leave alone, Image Builder keeps the image, and the
    same task starts the update again."
  - The rules of C(StartResourceStateUpdate) above are checked before any call, and a refused combination fails
    with a message that names the options.
  - Check mode and diff mode read what they need, as the C(check_mode) and C(diff_mode) attributes below say, and
    never write.
  - When the image is busy, O(state=started) fails with a message that names the executions that
    C(StartResourceStateUpdate) started for it and are still running; when none of those holds it, a lifecycle
    policy's execution does, and the message says so.
seealso:
  - module: imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info
  - name: StartResourceStateUpdate API reference
    description: The API call behind O(state=started).
    link: https://docs.aws.amazon.com/imagebuilder/latest/APIReference/API_StartResourceStateUpdate.html
  - name: CancelLifecycleExecution API reference
    description: The API call behind O(state=cancelled).
    link: https://docs.aws.amazon.com/imagebuilder/latest/APIReference/API_CancelLifecycleExecution.html
extends_documentation_fragment:
  - imagebuilder_ops.aws.arn_region
  - imagebuilder_ops.aws.api_spelling
  - imagebuilder_ops.aws.wait_options
  - imagebuilder_ops.aws.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details:
      - With O(state=started), reads the image (C(GetImage)), its AMIs as the real run does (C(DescribeImages),
        see the notes) and, when the change would run as an execution, the executions started for it
        (C(ListLifecycleExecutions)), and fails or reports a change exactly as the real run would for an image that
        does not exist, is busy with such an execution, or cannot go to O(resource_state), and reports no change
        where the real run would make none. An image that a lifecycle policy's execution holds is only found by the
        real run.
      - With O(state=cancelled), reads the execution and reports whether it would be cancelled.
  diff_mode:
    support: full
    details:
      - With O(state=started), the image's state before and after, and, when the module read them, the state of
        each AMI the request includes (C(amis), by AMI ID); with O(state=cancelled), the execution's status before
        and after.
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Deprecate an image build version with its AMIs, keeping recently launched AMIs
  imagebuilder_ops.aws.imagebuilder_lifecycle_execution:
    state: started
    image_arn: arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/3
    resource_state: deprecated
    include_resources:
      amis: true
    exclusion_rules:
      last_launched:
        value: 7
        unit: days
    execution_role: arn:aws:iam::123456789012:role/ImageBuilderLifecycleRole
    wait: true
    wait_timeout: 3600
  register: deprecation
  failed_when: >-
    deprecation is failed or
    (deprecation.lifecycle_execution is defined and deprecation.lifecycle_execution.state.status != 'SUCCESS')

- name: See which resources it deprecated
  imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info:
    lifecycle_execution_id: "{{ deprecation.lifecycle_execution_id }}"
    include_resources: true
  register: impacted
  when: deprecation.lifecycle_execution_id is not none

- name: Delete an older image build version with its AMIs and their snapshots
  imagebuilder_ops.aws.imagebuilder_lifecycle_execution:
    state: started
    image_arn: arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/1
    resource_state: deleted
    include_resources:
      amis: true
      snapshots: true
    execution_role: ImageBuilderLifecycleRole

- name: Disable an image build version alone, at once (no resources included, so no execution)
  imagebuilder_ops.aws.imagebuilder_lifecycle_execution:
    state: started
    image_arn: arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/2
    resource_state: disabled

- name: Cancel a runaway execution and wait until it is cancelled
  imagebuilder_ops.aws.imagebuilder_lifecycle_execution:
    state: cancelled
    lifecycle_execution_id: lce-0123abcd-4567-89ab-cdef-0123456789ab
    wait: true
    wait_sleep: 5
"""

RETURN = r"""
lifecycle_execution_id:
  description:
    - The lifecycle execution started or cancelled.
    - Null when Image Builder applied a state update at once, without an execution (its answer then has no
      execution ID), and when there was nothing to change.
  returned: success, except in check mode with O(state=started)
  type: str
  sample: lce-0123abcd-4567-89ab-cdef-0123456789ab
msg:
  description:
    - With O(state=started), why nothing changed, or why the module could not tell whether the image's resources
      are in O(resource_state) already (see the notes).
  returned: when O(state=started) found nothing to change, or could not tell
  type: str
  sample: >-
    Image arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/3 is DEPRECATED already, and so are the
    3 AMIs the request includes: nothing to change
resource_arn:
  description:
    - The image build version whose state update was started, as Image Builder's answer names it (or as asked, when
      the answer does not).
  returned: when O(state=started), except in check mode
  type: str
  sample: arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/3
lifecycle_execution:
  description:
    - The lifecycle execution, with the same keys as
      RV(imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info#module:lifecycle_execution).
    - After a wait, as it ended (or, when the wait timed out, as last read). With O(state=cancelled) and no wait,
      as read before the cancellation was asked for.
  returned: with O(wait=true) when there is an execution, and with O(state=cancelled)
  type: dict
  sample:
    lifecycle_execution_id: lce-0123abcd-4567-89ab-cdef-0123456789ab
    lifecycle_policy_arn: arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup
    resources_impacted_summary:
      has_impacted_resources: true
    state:
      status: CANCELLED
    start_time: "2026-11-28T06:00:00+00:00"
    end_time: "2026-11-28T06:01:12+00:00"
"""

import datetime
import re

from ansible.module_utils.common.dict_transformations import snake_dict_to_camel_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.transformation import scrub_none_parameters

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import imagebuilder as ib
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_preview as preview

# The StartResourceStateUpdate rules and request of state=started belong to this module alone.


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
    rules = {k: v for k, v in (params.get("exclusion_rules") or {}).items() if v is not None}
    if rules and not include.get("amis"):
        errors.append("exclusion_rules: only take effect on AMIs, so they need include_resources.amis=true")
    last_launched = rules.get("last_launched") or {}
    if last_launched.get("value") is not None and not 1 <= last_launched["value"] <= 365:
        errors.append(f"exclusion_rules.last_launched.value: {last_launched['value']} is not between 1 and 365")
    for account in rules.get("shared_accounts") or []:
        if not re.fullmatch(r"[0-9]{12}", account):
            errors.append(f"exclusion_rules.shared_accounts: {account!r} is not a 12-digit AWS account ID")
    return errors


def state_update_request(params, client_token):
    """The StartResourceStateUpdate parameters for the module's options (see the documentation above)."""
    rules = scrub_none_parameters(params["exclusion_rules"] or {})
    # Tag keys are the user's own: they go out as written, never re-cased.
    tag_map = rules.pop("tag_map", None)
    if "last_launched" in rules:
        rules["last_launched"]["unit"] = rules["last_launched"]["unit"].upper()
    amis = snake_dict_to_camel_dict(rules)
    if tag_map:
        amis["tagMap"] = tag_map
    request = {
        "resourceArn": params["image_arn"],
        "state": {"status": params["resource_state"].upper()},
        "clientToken": client_token,
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
    current = ib.status_of(image)
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
        if not preview.ami_left_alone(rules, dict(found or {}, region=ami["region"]), now):
            states[ami["image"]] = ami_resource_state(found, now)
    return states


def read_included_amis(module, params, image_arn, image, request, now):
    """(states, reason): the state of each AMI the request includes, by AMI ID, or None and why the module cannot tell
    (a failed EC2 read also gives a warning)."""
    rules = (request.get("exclusionRules") or {}).get("amis") or {}
    reason = unknowable(params, image_arn, image, rules)
    if reason:
        return None, reason
    clients = {}

    def read_amis(region, ami_ids, shared_accounts):
        # The preview's EC2 read: one DescribeImages per batch of AMIs (and per excluded account), never one per AMI.
        if region not in clients:
            clients[region] = ib.connect(module, "ec2", region)
        return preview.describe_amis(clients[region], region, ami_ids, shared_accounts)

    try:
        return included_ami_states(image, rules, read_amis, now), None
    except ib.ImageBuilderError as e:
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
    if ib.status_of(image) != wanted:
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


def start(module, client):
    params = module.params
    image_arn = params["image_arn"]
    wanted = params["resource_state"].upper()
    request = state_update_request(params, ib.client_token(params["client_token"]))
    result = dict(changed=True, resource_arn=image_arn)
    # What is left to change decides the run: the image's state and, with resources, the state of the AMIs the
    # request includes. The same reads tell check mode what the real run would do, and are what --diff shows. Only a
    # plain run of a scheduled deprecation (update_at), which no read can settle, reads nothing.
    if module.check_mode or module._diff or params["update_at"] is None:
        image = ib.get_image(client, image_arn)
        result["changed"], amis, unknown = left_to_change(module, params, image, request)
        if unknown:
            result["msg"] = f"Image {image_arn} is {wanted} already; whether its resources are is unknown ({unknown})"
        if module._diff:
            result["diff"] = diff_of(ib.status_of(image), amis, wanted, result["changed"])
        if not result["changed"]:
            return dict(result, lifecycle_execution_id=None, msg=nothing_to_change(image_arn, wanted, amis))
        refusal = refused_transition(image_arn, image, wanted)
        if refusal:
            module.fail_json(**dict(result, changed=False, msg=refusal))
    if module.check_mode:
        if runs_execution(params):
            # What refuses the real run: an execution that StartResourceStateUpdate started for it, still running.
            busy = ib.active_executions(client, image_arn)
            if busy:
                module.fail_json(**dict(result, changed=False, msg=ib.held_by_message(image_arn, busy)))
        return result
    answer = ib.start_resource_state_update(client, request)
    # Every member of the answer is optional: no lifecycleExecutionId means the change applied at once.
    result.update(
        lifecycle_execution_id=answer.get("lifecycleExecutionId"),
        resource_arn=answer.get("resourceArn", image_arn),
    )
    if params["wait"] and result["lifecycle_execution_id"]:
        wait(module, client, result)
    return result


def cancel(module, client):
    lifecycle_execution_id = module.params["lifecycle_execution_id"]
    current = ib.get_lifecycle_execution(client, lifecycle_execution_id)
    result = dict(changed=is_cancellable(current), lifecycle_execution_id=lifecycle_execution_id)
    if module._diff:
        before = ib.status_of(current)
        result["diff"] = dict(
            before=dict(status=before), after=dict(status="CANCELLING" if result["changed"] else before)
        )
    if result["changed"] and not module.check_mode:
        token = ib.client_token(module.params["client_token"])
        try:
            ib.cancel_lifecycle_execution(client, lifecycle_execution_id, token)
        except ib.ImageBuilderError as e:
            # Refused because it ended between our read and the cancellation? Then there was nothing to cancel.
            if not ib.is_refusal(e):
                raise
            current = ib.get_lifecycle_execution(client, lifecycle_execution_id)
            if is_cancellable(current):
                raise
            result["changed"] = False
    result["lifecycle_execution"] = ib.normalize(current)
    # An execution we saw end needs no poll; one we just cancelled is still going.
    if module.params["wait"] and not module.check_mode and not ib.is_terminal(current):
        wait(module, client, result)
    return result


def is_cancellable(lifecycle_execution):
    # An answer without a status cannot tell: ask for the cancellation and let Image Builder decide.
    return ib.status_of(lifecycle_execution) not in ib.TERMINAL_STATUSES | {"CANCELLING"}


def wait(module, client, result):
    """Wait for the execution of ``result``, add it to ``result``, and fail with all of ``result`` on a timeout."""
    try:
        result["lifecycle_execution"] = ib.describe_lifecycle_execution(
            client,
            result["lifecycle_execution_id"],
            wait=True,
            wait_timeout=module.params["wait_timeout"],
            wait_sleep=module.params["wait_sleep"],
        )
    except ib.LifecycleExecutionWaitTimeout as e:
        result["lifecycle_execution"] = ib.normalize(e.lifecycle_execution)
        module.fail_json(msg=e.message, **result)


def main():
    argument_spec = dict(
        state=dict(type="str", required=True, choices=["started", "cancelled"]),
        image_arn=dict(type="str"),
        resource_state=dict(type="str", choices=ib.api_choices("AVAILABLE", "DEPRECATED", "DISABLED", "DELETED")),
        include_resources=dict(
            type="dict", options=dict(amis=dict(type="bool"), snapshots=dict(type="bool"), containers=dict(type="bool"))
        ),
        exclusion_rules=dict(
            type="dict",
            options=dict(
                is_public=dict(type="bool"),
                regions=dict(type="list", elements="str"),
                shared_accounts=dict(type="list", elements="str"),
                last_launched=dict(
                    type="dict",
                    options=dict(
                        value=dict(type="int", required=True),
                        unit=dict(type="str", required=True, choices=ib.TIME_UNIT_CHOICES),
                    ),
                ),
                tag_map=dict(type="dict"),
            ),
        ),
        execution_role=dict(type="str"),
        update_at=dict(type="str"),
        client_token=dict(type="str", no_log=False),
        lifecycle_execution_id=dict(type="str"),
        **ib.WAIT_ARGUMENT_SPEC,
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[
            ("state", "started", ["image_arn", "resource_state"]),
            ("state", "cancelled", ["lifecycle_execution_id"]),
        ],
        supports_check_mode=True,
    )
    ib.normalize_choices(module.params, argument_spec)
    ib.wait_options(module)
    started_only = [
        "image_arn",
        "resource_state",
        "include_resources",
        "exclusion_rules",
        "execution_role",
        "update_at",
    ]
    misplaced = [o for o in started_only if module.params["state"] == "cancelled" and module.params[o] is not None]
    if module.params["state"] == "started" and module.params["lifecycle_execution_id"] is not None:
        misplaced.append("lifecycle_execution_id")
    errors = [f"{o}: cannot be used with state={module.params['state']}" for o in misplaced]
    errors += ib.validate_options(
        module.params, ["lifecycle_execution_id", "image_arn", "execution_role", "client_token"]
    )
    errors += validate_state_update(module.params)
    if errors:
        module.fail_json(msg="; ".join(errors))

    client = ib.connect(module, arn_options=["image_arn"])
    try:
        result = start(module, client) if module.params["state"] == "started" else cancel(module, client)
    except ib.ImageBuilderError as e:
        module.fail_json_aws_error(e)

    module.exit_json(**result)


if __name__ == "__main__":
    main()
