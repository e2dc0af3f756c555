#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: imagebuilder_lifecycle_execution_info
version_added: 1.0.0
short_description: Read, list and wait for EC2 Image Builder lifecycle executions
description:
  - Returns one EC2 Image Builder lifecycle execution (C(GetLifecycleExecution)), optionally with the resources
    it impacted (C(ListLifecycleExecutionResources)), and can wait until it reaches a terminal status.
  - Lists the lifecycle executions of a lifecycle policy, or those that C(StartResourceStateUpdate) started for
    an image build version (C(ListLifecycleExecutions)), newest first, every page.
  - Image Builder emits no event when a lifecycle execution ends and has no waiter for it, so polling with
    O(wait=true) is the way to follow one.
  - Throttling (C(CallRateLimitExceededException)), C(ServiceException) and C(ServiceUnavailableException) are
    retried on every call, each poll and each page included, with a bounded jittered backoff that outlasts more
    than eight such answers in a row.
author:
  - imagebuilder_ops maintainers (@imagebuilder-ops)
options:
  lifecycle_execution_id:
    description:
      - The ID of one lifecycle execution to return, in the form C(lce-) followed by a UUID.
      - Exactly one of O(lifecycle_execution_id), O(lifecycle_policy_arn) and O(image_arn) is required.
    type: str
  lifecycle_policy_arn:
    description:
      - List the lifecycle executions of this lifecycle policy (passed to the API as C(resourceArn)).
      - An ARN such as C(arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/my-policy).
    type: str
  image_arn:
    description:
      - List the lifecycle executions that C(StartResourceStateUpdate) started for this image build version
        (passed to the API as C(resourceArn)), for example with
        M(imagebuilder_ops.aws.imagebuilder_lifecycle_execution).
      - The executions of lifecycle policies that acted on the image are not among them; list them with
        O(lifecycle_policy_arn).
      - An image build version ARN such as C(arn:aws:imagebuilder:us-east-1:123456789012:image/my-image/1.0.0/1).
    type: str
  include_resources:
    description:
      - Add the resources that the execution impacted, under RV(lifecycle_execution.resources), as a tree of the
        Image Builder images at the top level, each with its AMIs, snapshots and container images under
        RV(lifecycle_execution.resources[].child_resources).
      - Costs one listing (every page) for the images, and one more for each image.
      - Only with O(lifecycle_execution_id). With O(wait=true) they are read once, after the wait.
    type: bool
    default: false
  parent_resource_id:
    description:
      - Only return the AMIs, snapshots and container images of this image, flat. Passed to the API as
        C(parentResourceId).
      - An image build version ARN, the C(resource_id) of an image among the execution's top-level resources,
        such as C(arn:aws:imagebuilder:us-east-1:123456789012:image/my-image/1.0.0/1). An image that the execution
        did not act on has no resources.
      - Only with O(include_resources=true).
    type: str
notes:
  - "IAM permissions: C(imagebuilder:GetLifecycleExecution) for O(lifecycle_execution_id), once per poll with
    O(wait=true); C(imagebuilder:ListLifecycleExecutionResources) with O(include_resources=true);
    C(imagebuilder:ListLifecycleExecutions) for O(lifecycle_policy_arn) and O(image_arn). It makes no other call."
  - O(wait) can only be used with O(lifecycle_execution_id).
  - Lists use the largest page size the API allows, and are sorted newest first by start time.
seealso:
  - name: EC2 Image Builder lifecycle management
    description: How lifecycle policies and their executions work.
    link: https://docs.aws.amazon.com/imagebuilder/latest/userguide/manage-image-lifecycles.html
  - name: GetLifecycleExecution API reference
    description: The API call behind O(lifecycle_execution_id).
    link: https://docs.aws.amazon.com/imagebuilder/latest/APIReference/API_GetLifecycleExecution.html
  - name: ListLifecycleExecutions API reference
    description: The API call behind O(lifecycle_policy_arn) and O(image_arn).
    link: https://docs.aws.amazon.com/imagebuilder/latest/APIReference/API_ListLifecycleExecutions.html
extends_documentation_fragment:
  - imagebuilder_ops.aws.arn_region
  - imagebuilder_ops.aws.wait_options
  - imagebuilder_ops.aws.attributes
  - imagebuilder_ops.aws.attributes.check_mode_read_only
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Get one lifecycle execution
  imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info:
    lifecycle_execution_id: lce-0123abcd-4567-89ab-cdef-0123456789ab
  register: result

- name: Wait for it to finish, and fail the task unless it succeeded
  imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info:
    lifecycle_execution_id: lce-0123abcd-4567-89ab-cdef-0123456789ab
    wait: true
    wait_timeout: 3600
    wait_sleep: 30
  register: result
  failed_when: >-
    result is failed or result.lifecycle_execution.state.status != 'SUCCESS'

- name: List the executions of a lifecycle policy, newest first
  imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info:
    lifecycle_policy_arn: arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup
  register: policy_runs

- name: Show the status of the latest run
  ansible.builtin.debug:
    msg: "{{ policy_runs.lifecycle_executions[0].state.status | default('never ran') }}"

- name: List the executions that StartResourceStateUpdate started for one image build version
  imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info:
    image_arn: arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/3
  register: image_runs

- name: Get an execution with the images it acted on and, under each, its AMIs, snapshots and containers
  imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info:
    lifecycle_execution_id: lce-0123abcd-4567-89ab-cdef-0123456789ab
    include_resources: true
  register: result

- name: List the AMIs that were deprecated, under every image
  ansible.builtin.debug:
    msg: >-
      {{ result.lifecycle_execution.resources
         | map(attribute='child_resources', default=[]) | flatten
         | selectattr('action.name', '==', 'DEPRECATE')
         | map(attribute='resource_id') }}

- name: Get only the AMIs, snapshots and containers of one image that the execution acted on
  imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info:
    lifecycle_execution_id: lce-0123abcd-4567-89ab-cdef-0123456789ab
    include_resources: true
    parent_resource_id: arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/3
  register: one_image

- name: Set the region and credentials once for this collection and amazon.aws
  module_defaults:
    group/imagebuilder_ops.aws.aws:
      region: eu-west-1
  block:
    - name: Who am I
      amazon.aws.aws_caller_info:

    - name: Get one lifecycle execution in eu-west-1
      imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info:
        lifecycle_execution_id: lce-0123abcd-4567-89ab-cdef-0123456789ab
"""

RETURN = r"""
lifecycle_execution:
  description:
    - The lifecycle execution asked for with O(lifecycle_execution_id).
    - Also returned when a wait times out, as last read.
    - Every member of Image Builder's answer is optional in its API model, so no key below is promised; the module
      works without any of them.
  returned: when O(lifecycle_execution_id) is given
  type: dict
  contains:
    lifecycle_execution_id:
      description: The ID of the lifecycle execution.
      type: str
      returned: when Image Builder sends it
      sample: lce-0123abcd-4567-89ab-cdef-0123456789ab
    lifecycle_policy_arn:
      description: The ARN of the lifecycle policy that ran.
      type: str
      returned: for executions of a lifecycle policy, not for those that C(StartResourceStateUpdate) started
      sample: arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup
    resources_impacted_summary:
      description: Whether the execution impacted resources associated with the images it acted on.
      type: dict
      returned: when Image Builder sends it
      contains:
        has_impacted_resources:
          description: True when associated resources (AMIs, snapshots, container images) are impacted too.
          type: bool
          returned: when Image Builder sends it
          sample: true
    state:
      description: Where the execution stands.
      type: dict
      returned: when Image Builder sends it
      contains:
        status:
          description:
            - One of C(PENDING), C(IN_PROGRESS), C(CANCELLING), C(SUCCESS), C(FAILED), C(CANCELLED).
            - The last three are terminal.
          type: str
          returned: when Image Builder sends it
          sample: SUCCESS
        reason:
          description: Why the execution is in this status, when Image Builder says.
          type: str
          returned: when Image Builder gives one
          sample: Lifecycle policy action completed.
    start_time:
      description: When the execution started, in ISO 8601.
      type: str
      returned: when it has started
      sample: "2026-11-28T06:00:00+00:00"
    end_time:
      description: When the execution ended, in ISO 8601.
      type: str
      returned: when it has ended
      sample: "2026-11-28T06:04:12+00:00"
    resources:
      description:
        - The resources the execution impacted (C(ListLifecycleExecutionResources), every page).
        - Without O(parent_resource_id), the Image Builder images at the top level, each with
          RV(lifecycle_execution.resources[].child_resources); with it, that image's resources, flat.
      type: list
      elements: dict
      returned: when O(include_resources=true)
      contains:
        account_id:
          description: The account that owns the resource.
          type: str
          returned: when Image Builder sends it
          sample: "123456789012"
        resource_id:
          description:
            - The ID of the resource; its form depends on the type of resource.
            - An image build version ARN for an Image Builder image, an AMI ID for an AMI, an image URI or SHA
              digest for a container image in ECR.
          type: str
          returned: when Image Builder sends it
          sample: ami-0123456789abcdef0
        region:
          description: The region of the resource.
          type: str
          returned: when Image Builder sends it
          sample: us-east-1
        state:
          description: The outcome for this resource.
          type: dict
          returned: when Image Builder sends it
          contains:
            status:
              description: One of C(IN_PROGRESS), C(SUCCESS), C(FAILED), C(SKIPPED).
              type: str
              returned: when Image Builder sends it
              sample: SUCCESS
            reason:
              description: Why, when Image Builder says.
              type: str
              returned: when Image Builder gives one
              sample: Resource deprecated.
        action:
          description: What the lifecycle policy did to the resource.
          type: dict
          returned: when Image Builder sends it
          contains:
            name:
              description: One of C(AVAILABLE), C(DELETE), C(DEPRECATE), C(DISABLE).
              type: str
              returned: when Image Builder sends it
              sample: DEPRECATE
            reason:
              description: Why the action was taken.
              type: str
              returned: when Image Builder gives one
              sample: Image is older than 90 days.
        child_resources:
          description:
            - The AMIs, snapshots and container images of an Image Builder image, with the keys of
              RV(lifecycle_execution.resources) (except this one).
          type: list
          elements: dict
          returned: for each image (a C(resource_id) that is an image build version ARN), without O(parent_resource_id)
          sample:
            - resource_id: ami-0123456789abcdef0
              action: {name: DEPRECATE}
              state: {status: SUCCESS}
        snapshots:
          description: The EBS snapshots of an AMI, each with its own state.
          type: list
          elements: dict
          returned: for AMIs
          sample: [{"snapshot_id": "snap-0123456789abcdef0", "state": {"status": "SUCCESS"}}]
        image_uris:
          description: The URIs of a container image.
          type: list
          elements: str
          returned: for container images
          sample: ["123456789012.dkr.ecr.us-east-1.amazonaws.com/golden-container:1.0.0-3"]
        start_time:
          description: When the action on this resource started, in ISO 8601.
          type: str
          returned: when it has started
          sample: "2026-11-28T06:00:05+00:00"
        end_time:
          description: When the action on this resource ended, in ISO 8601.
          type: str
          returned: when it has ended
          sample: "2026-11-28T06:01:30+00:00"
lifecycle_executions:
  description:
    - The lifecycle executions of O(lifecycle_policy_arn), or those that C(StartResourceStateUpdate) started for
      O(image_arn), newest first; empty when there are none.
    - Each has the keys of RV(lifecycle_execution) except RV(lifecycle_execution.resources).
  returned: when O(lifecycle_policy_arn) or O(image_arn) is given
  type: list
  elements: dict
  sample:
    - lifecycle_execution_id: lce-0123abcd-4567-89ab-cdef-0123456789ab
      lifecycle_policy_arn: arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup
      resources_impacted_summary:
        has_impacted_resources: true
      state:
        status: SUCCESS
      start_time: "2026-11-28T06:00:00+00:00"
      end_time: "2026-11-28T06:04:12+00:00"
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_execution as le

SELECTORS = ["lifecycle_execution_id", "lifecycle_policy_arn", "image_arn"]
OPTION_FORMS = dict(
    lifecycle_execution_id=common.LIFECYCLE_EXECUTION_ID,
    lifecycle_policy_arn=common.LIFECYCLE_POLICY_ARN,
    image_arn=common.IMAGE_BUILD_VERSION_ARN,
    parent_resource_id=le.PARENT_RESOURCE_ID,
)


def main():
    argument_spec = dict(
        lifecycle_execution_id=dict(type="str"),
        lifecycle_policy_arn=dict(type="str"),
        image_arn=dict(type="str"),
        include_resources=dict(type="bool", default=False),
        parent_resource_id=dict(type="str"),
        **common.WAIT_ARGUMENT_SPEC,
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_one_of=[SELECTORS],
        mutually_exclusive=[SELECTORS],
        required_if=[
            ("include_resources", True, ["lifecycle_execution_id"]),
            ("wait", True, ["lifecycle_execution_id"]),
        ],
        supports_check_mode=True,
    )
    params = module.params
    errors = common.wait_options(module) + common.validate_options(params, OPTION_FORMS)
    if params["parent_resource_id"] is not None and not params["include_resources"]:
        errors.append("parent_resource_id: can only be used with include_resources=true")
    if errors:
        module.fail_json(msg="; ".join(errors))

    client = common.connect(module, arn_options=["lifecycle_policy_arn", "image_arn", "parent_resource_id"])
    try:
        if params["lifecycle_execution_id"]:
            lifecycle_execution = le.describe_lifecycle_execution(
                client,
                params["lifecycle_execution_id"],
                wait=params["wait"],
                wait_timeout=params["wait_timeout"],
                wait_sleep=params["wait_sleep"],
                include_resources=params["include_resources"],
                parent_resource_id=params["parent_resource_id"],
            )
            result = dict(lifecycle_execution=lifecycle_execution)
        else:
            executions = le.list_lifecycle_executions(client, params["lifecycle_policy_arn"] or params["image_arn"])
            result = dict(lifecycle_executions=[common.normalize(e) for e in executions])
    except common.WaitTimeout as e:
        module.fail_json(msg=e.message, lifecycle_execution=common.normalize(e.last))
    except common.ImageBuilderError as e:
        module.fail_json_aws_error(e)

    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
