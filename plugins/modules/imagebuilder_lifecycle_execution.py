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
  - imagebuilder_ops.aws.ami_exclusion_rules
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

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import ami_exclusion_rules
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_execution
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import resource_state_update

# The options of state=started alone.
STARTED_ONLY = ("image_arn", "resource_state", "include_resources", "exclusion_rules", "execution_role", "update_at")
OPTION_FORMS = dict(
    lifecycle_execution_id=common.LIFECYCLE_EXECUTION_ID,
    image_arn=common.IMAGE_BUILD_VERSION_ARN,
    execution_role=common.ROLE_NAME_OR_ARN,
    client_token=common.CLIENT_TOKEN,
)


def main():
    argument_spec = dict(
        state=dict(type="str", required=True, choices=["started", "cancelled"]),
        image_arn=dict(type="str"),
        resource_state=dict(type="str", choices=common.api_choices("AVAILABLE", "DEPRECATED", "DISABLED", "DELETED")),
        include_resources=dict(
            type="dict", options=dict(amis=dict(type="bool"), snapshots=dict(type="bool"), containers=dict(type="bool"))
        ),
        exclusion_rules=dict(type="dict", options=ami_exclusion_rules.argument_spec()),
        execution_role=dict(type="str"),
        update_at=dict(type="str"),
        client_token=dict(type="str", no_log=False),
        lifecycle_execution_id=dict(type="str"),
        **common.WAIT_ARGUMENT_SPEC,
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[
            ("state", "started", ["image_arn", "resource_state"]),
            ("state", "cancelled", ["lifecycle_execution_id"]),
        ],
        supports_check_mode=True,
    )
    common.normalize_choices(module.params, argument_spec)
    state = module.params["state"]
    misplaced = [o for o in STARTED_ONLY if state == "cancelled" and module.params[o] is not None]
    if state == "started" and module.params["lifecycle_execution_id"] is not None:
        misplaced.append("lifecycle_execution_id")
    errors = [f"{o}: cannot be used with state={state}" for o in misplaced]
    errors += common.wait_options(module)
    errors += common.validate_options(module.params, OPTION_FORMS)
    errors += resource_state_update.validate_state_update(module.params)
    if errors:
        module.fail_json(msg="; ".join(errors))

    client = common.connect(module, arn_options=["image_arn"])
    try:
        if state == "started":
            result = resource_state_update.ensure_started(module, client)
        else:
            result = lifecycle_execution.ensure_cancelled(module, client)
    except common.ImageBuilderError as e:
        module.fail_json_aws_error(e)

    module.exit_json(**result)


if __name__ == "__main__":
    main()
