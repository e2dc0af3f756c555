#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: imagebuilder_lifecycle_policy_preview_info
version_added: 2.0.0
short_description: Preview what an EC2 Image Builder lifecycle policy would deprecate, disable or delete
description:
  - Says, before a lifecycle policy runs, which image build versions its rules would deprecate, disable or delete,
    which rule decided each and why, and which AMIs (per region), snapshots and container images the action would
    reach, as the tree of impacted resources that
    M(imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info) shows for an execution, so that the two compare.
  - Previews an existing policy (O(arn) or O(name)), or the policy that O(resource_type), O(policy_details) and
    O(resource_selection) describe, as M(imagebuilder_ops.aws.imagebuilder_lifecycle_policy) takes them, so that a
    change is previewed before it is applied. Options given override the existing policy's; left out, its own stand.
  - It reads the images the policy selects (every page of C(ListImageBuildVersions)) and, for AMI rules that need
    them, what EC2 C(DescribeImages) says of their AMIs in each region they were distributed to, then applies the
    rules at the time of the run. It never writes.
  - The rules are applied as botocore's imagebuilder model and the Image Builder user guide's lifecycle pages say
    the service applies them - deprecate, then disable, then delete, one action per image per run; retention per
    recipe version; the image states each rule skips; AMI exclusions checked in the guide's order, the first match
    named - and where they leave a case open (an image near an age threshold, whether a month is a calendar month,
    an AMI near the last-launched bound, retention slots, a delete that skips an AMI, and the others the guide's
    "Cases left open" lists), the preview shows the reading that acts on more resources; each image or AMI whose
    outcome another reading would change names the case in its C(open_questions), and
    RV(lifecycle_policy_preview.open_questions) lists each case once with the sentences that leave it open.
author:
  - imagebuilder_ops maintainers (@imagebuilder-ops)
options:
  arn:
    description:
      - The existing policy to preview, such as
        C(arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/my-policy).
      - An ARN that names no policy fails the task.
    type: str
    aliases: [lifecycle_policy_arn]
  name:
    description:
      - The policy to preview, by its name as written when it was created (case matters).
      - A name that no policy has previews a new policy, which needs O(resource_type), O(policy_details) and
        O(resource_selection).
    type: str
  details:
    description:
      - With V(false), each image in RV(lifecycle_policy_preview.resources) and RV(lifecycle_policy_preview.kept)
        keeps only C(resource_id), its C(action) (C(name) only) and C(open_questions), without AMIs, snapshots, tags or
        reasons. For a large preview whose counts (RV(summary)) and open cases are what is read.
      - The same calls are made either way.
    type: bool
    default: true
  safety_checks:
    description:
      - With V(true), says for each AMI an action would reach what still uses it, and for each AMI a delete would
        reach whether it could be restored from the Recycle Bin and which snapshots it would free, with the counts a
        playbook checks (RV(safety)).
      - "In use: instances that are not terminated, launch templates whose default or latest version names it (any
        number of versions behind the latest), Auto Scaling groups (their launch template's version, a mixed instances
        policy's overrides), launch configurations, and, through EC2 C(DescribeImageReferences), Systems Manager
        parameters and Image Builder recipes. An AMI is C(not_in_use) only when every kind was checked; otherwise
        C(unknown), naming what could not be checked and why (a denied call, an operation or member the installed
        botocore lacks, an AMI another account owns)."
      - "Recoverable: the Recycle Bin retention rules of the AMI's region, for the AMI and for the snapshots the delete
        removes; C(recoverable) until the earliest end of those rules, C(not_recoverable) with why, C(blocked) when
        deregistration protection keeps the AMI, or C(unknown)."
      - "Storage: the snapshots a delete removes with their sizes, one that an AMI the policy keeps still uses counted
        as kept, and totals, always an upper bound."
      - Off by default, so that a preview makes the calls, and needs the permissions, it always has. A call these
        checks are denied never fails the task; it makes the answers it would have given C(unknown).
    type: bool
    default: false
    version_added: 3.0.0
notes:
  - "IAM permissions: C(imagebuilder:GetLifecyclePolicy) and, with O(name), C(imagebuilder:ListLifecyclePolicies);
    C(imagebuilder:ListImageBuildVersions), and C(imagebuilder:ListImages) too where the installed botocore's model
    still requires an image version for each C(ListImageBuildVersions) listing; C(ec2:DescribeImages) in each region
    the selected AMIs are in, when a rule includes AMIs and their snapshots or has AMI exclusion rules."
  - The options are checked as M(imagebuilder_ops.aws.imagebuilder_lifecycle_policy) checks them, before any call. A
    name that no policy has is previewed as a new policy (with a warning), and refused, as the policy module would
    refuse to create it, when it differs from an existing policy's only in case, spaces or underscores.
  - One C(ListImageBuildVersions) listing per recipe name (or one for a tag selection), every page at the largest page
    size; where the installed botocore's model requires an image version, one C(ListImages) listing and then one
    C(ListImageBuildVersions) listing per image version. Then, in each region, one C(DescribeImages) listing per 200
    AMIs, and as many again for each account that a C(shared_accounts) exclusion names. No call is made per image.
  - "With O(safety_checks=true), also, in each region the reached AMIs are in: C(ec2:DescribeImages) (for every
    selected AMI), C(ec2:DescribeInstances), C(ec2:DescribeLaunchTemplateVersions), C(ec2:DescribeImageReferences),
    C(autoscaling:DescribeAutoScalingGroups), C(autoscaling:DescribeLaunchConfigurations) and, where a delete reaches
    an AMI, C(rbin:ListRules), C(rbin:GetRule), C(ec2:DescribeSnapshots). Each is one listing per region (per 10 AMIs
    for C(DescribeImageReferences), per 200 AMIs or snapshots for the filtered listings), one C(GetRule) per Recycle
    Bin rule, one C(DescribeLaunchTemplateVersions) per launch template an Auto Scaling group names; none per AMI."
  - O(endpoint_url) is Image Builder's. C(DescribeImages) goes to EC2's endpoint in each region, or where botocore's
    own configuration says (C(AWS_ENDPOINT_URL_EC2), a profile's C(services) section).
  - A disabled policy does not run on its schedule; its preview says what its rules would do if it ran.
  - The rules are applied as of the time of the run, RV(lifecycle_policy_preview.previewed_at). The service applies
    them when it runs the policy, once a day, so an image near an age boundary may fall on either side.
seealso:
  - module: imagebuilder_ops.aws.imagebuilder_lifecycle_policy
  - module: imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info
  - name: How lifecycle policies work
    description: The Image Builder user guide's lifecycle section.
    link: https://docs.aws.amazon.com/imagebuilder/latest/userguide/image-lifecycle.html
extends_documentation_fragment:
  - imagebuilder_ops.aws.lifecycle_policy
  - imagebuilder_ops.aws.arn_region
  - imagebuilder_ops.aws.api_spelling
  - imagebuilder_ops.aws.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details:
      - It only reads, in check mode too.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: What would the golden AMI policy do today?
  imagebuilder_ops.aws.imagebuilder_lifecycle_policy_preview_info:
    name: golden-ami-cleanup
  register: preview

- name: Show the images it would delete
  ansible.builtin.debug:
    msg: "{{ preview.lifecycle_policy_preview.resources | selectattr('action.name', '==', 'DELETE')
             | map(attribute='resource_id') }}"

- name: Preview a stricter rule before applying it (the same options feed imagebuilder_lifecycle_policy)
  imagebuilder_ops.aws.imagebuilder_lifecycle_policy_preview_info:
    name: golden-ami-cleanup
    policy_details:
      - action:
          type: delete
          include_resources:
            amis: true
            snapshots: true
        filter:
          type: age
          value: 90
          unit: days
          retain_at_least: 3
  register: stricter

- name: Only the counts and which images, for a policy that selects thousands
  imagebuilder_ops.aws.imagebuilder_lifecycle_policy_preview_info:
    name: golden-ami-cleanup
    details: false
  register: brief

- name: Refuse the change if it would delete anything
  ansible.builtin.assert:
    that: stricter.lifecycle_policy_preview.summary.delete == 0
    fail_msg: "{{ stricter.lifecycle_policy_preview.resources | map(attribute='resource_id') }}"

- name: Preview the policy with what still uses each AMI, and whether a delete could be undone
  imagebuilder_ops.aws.imagebuilder_lifecycle_policy_preview_info:
    name: golden-ami-cleanup
    safety_checks: true
  register: checked

- name: Refuse unless nothing in use is disabled or deleted and nothing unrecoverable is deleted ("unknown" refused)
  ansible.builtin.assert:
    that:
      - checked.safety.in_use.disable + checked.safety.in_use.delete == 0
      - checked.safety.in_use_unknown.disable + checked.safety.in_use_unknown.delete == 0
      - checked.safety.delete_not_recoverable + checked.safety.delete_recoverable_unknown == 0
      - checked.safety.delete_blocked == 0
    fail_msg: "{{ checked.safety }}: each AMI's in_use and recoverable in the preview say why"
"""

RETURN = r"""
summary:
  description:
    - How many image build versions each action would reach (C(none) for those kept), as
      RV(lifecycle_policy_preview.summary) says, at the top of the result.
  returned: always
  type: dict
  sample: {"deprecate": 2, "disable": 0, "delete": 1, "none": 3}
safety:
  description:
    - RV(lifecycle_policy_preview.safety.summary), at the top of the result.
    - Per action, the AMIs in use (C(in_use)) and those whose use could not be fully checked (C(in_use_unknown)); the
      deletes that could not be restored (C(delete_not_recoverable)), whose recovery is unknown
      (C(delete_recoverable_unknown)) or that deregistration protection blocks (C(delete_blocked)); and the bytes the
      deletes would free at most (C(freed_bytes_at_most), null when a region could not be read).
  returned: when O(safety_checks=true)
  type: dict
  version_added: 3.0.0
  sample: {"in_use": {"deprecate": 0, "disable": 0, "delete": 1}, "in_use_unknown": {"deprecate": 0, "disable": 0,
           "delete": 0}, "delete_not_recoverable": 0, "delete_recoverable_unknown": 0, "delete_blocked": 0,
           "freed_bytes_at_most": 8589934592}
lifecycle_policy_preview:
  description: What the policy would do if it ran at RV(lifecycle_policy_preview.previewed_at).
  returned: always
  type: dict
  contains:
    lifecycle_policy:
      description: The policy previewed.
      type: dict
      returned: always
      contains:
        arn:
          description: Its ARN; null for a policy that does not exist yet.
          type: str
          returned: always
          sample: arn:aws:imagebuilder:us-east-1:123456789012:lifecycle-policy/golden-ami-cleanup
        name:
          description: Its name.
          type: str
          returned: always
          sample: golden-ami-cleanup
        status:
          description: C(ENABLED) or C(DISABLED) (a disabled policy does not run on its schedule).
          type: str
          returned: always
          sample: ENABLED
        resource_type:
          description: C(AMI_IMAGE) or C(CONTAINER_IMAGE).
          type: str
          returned: always
          sample: AMI_IMAGE
    previewed_at:
      description: The time the rules were applied at, in ISO 8601.
      type: str
      returned: always
      sample: "2026-12-03T18:00:00+00:00"
    resources:
      description:
        - The image build versions an action would reach, newest first, each with the resources the action includes,
          keyed as RV(imagebuilder_ops.aws.imagebuilder_lifecycle_execution_info#module:lifecycle_execution.resources)
          keys an execution's impacted resources.
      type: list
      elements: dict
      returned: always
      contains:
        resource_id:
          description: The image build version ARN.
          type: str
          returned: always
          sample: arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/1
        date_created:
          description: When the image was created, in ISO 8601.
          type: str
          returned: always
          sample: "2025-10-29T18:00:00+00:00"
        tags:
          description: The image's tags, keys as stored.
          type: dict
          returned: always
          sample: {"Environment": "production"}
        action:
          description: The action and why (the rule, its index in the policy's details, and what it found).
          type: dict
          returned: always
          sample: {"name": "DELETE",
                   "reason": "policy_details[1]: created 2025-10-29T18:00:00+00:00, 180 days old or older"}
        policy_detail:
          description: The index, in the policy's details, of the rule that decided the action.
          type: int
          returned: always
          sample: 1
        reasons:
          description: What each rule decided, with C(policy_detail), C(selected) and C(reason).
          type: list
          elements: dict
          returned: always
          sample: [{"policy_detail": 0, "selected": true,
                    "reason": "created 2025-10-29T18:00:00+00:00, 60 days old or older"}]
        child_resources:
          description:
            - The AMIs (with C(resource_id), C(region), C(account_id) when Image Builder names it, C(action) and, when
              the rule includes snapshots, C(snapshots) with C(snapshot_id)) and container images (with C(image_uris),
              and their first URI as C(resource_id), null without one) the action includes.
          type: list
          elements: dict
          returned: always
          sample: [{"resource_id": "ami-0123456789abcdef0", "region": "us-east-1", "action": {"name": "DELETE"},
                    "snapshots": [{"snapshot_id": "snap-0123456789abcdef0"}], "open_questions": []}]
        excluded_resources:
          description:
            - The AMIs an exclusion rule keeps from the action (an execution reports them C(SKIPPED)), with
              C(resource_id), C(region), C(exclusion) (the first condition that matches, in the order the user guide
              says Image Builder checks them - C(regions), C(is_public), C(tag_map), C(shared_accounts),
              C(last_launched) - named as the O(policy_details[].exclusion_rules.amis) option), C(reason) and
              C(open_questions).
          type: list
          elements: dict
          returned: always
          sample: [{"resource_id": "ami-0fedcba9876543210", "region": "eu-west-1", "exclusion": "regions",
                    "reason": "in region eu-west-1 (exclusion_rules.amis.regions)", "open_questions": []}]
        open_questions:
          description:
            - The open cases (the C(case) of an entry of RV(lifecycle_policy_preview.open_questions)) whose other
              readings would change what happens to this image or to one of its AMIs; each AMI in
              C(child_resources) and C(excluded_resources) names those that change its own outcome.
          type: list
          elements: str
          returned: always
          sample: ["delete_with_skipped_amis"]
    kept:
      description:
        - The selected image build versions no action would reach, newest first, with C(resource_id),
          C(date_created), C(tags), C(reason) (every rule's, joined), C(reasons) and C(open_questions).
      type: list
      elements: dict
      returned: always
      sample: [{"resource_id": "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.2.0/1",
                "reason": "policy_details[0]: created 2026-11-28T18:00:00+00:00, not 60 days old",
                "open_questions": []}]
    summary:
      description: How many image build versions each action would reach (C(none) for those kept).
      type: dict
      returned: always
      sample: {"deprecate": 2, "disable": 0, "delete": 1, "none": 3}
    safety:
      description:
        - What O(safety_checks) found. Each AMI in RV(lifecycle_policy_preview.resources[].child_resources) also
          carries C(in_use) (C(status) C(in_use), C(not_in_use) or C(unknown); C(references), each with C(type),
          C(id) and C(state), and C(version), C(default) and C(latest) for a launch template; C(unchecked), each with
          C(kind) and C(reason); C(last_launched), reported by EC2 up to 24 hours late; C(effect), what the action does
          to its users) and, for a delete, C(recoverable) (C(status), C(reason), C(recoverable_until), C(rule),
          C(lock_state)) and C(storage) (its snapshots, each C(freed), C(kept) or C(unknown), with C(size_in_bytes)).
      type: dict
      returned: when O(safety_checks=true)
      version_added: 3.0.0
      contains:
        summary:
          description: The counts of RV(safety), and C(freed_bytes_at_most).
          type: dict
          returned: always
        storage:
          description:
            - Per region (C(regions)), the snapshots the deletes would remove and C(freed_bytes_at_most); overall
              C(freed_bytes_at_most) and C(note), which says why it is an upper bound.
          type: dict
          returned: always
        open_questions:
          description:
            - The cases these checks met that the sources leave open, as RV(lifecycle_policy_preview.open_questions)
              lists them.
          type: list
          elements: dict
          returned: always
    open_questions:
      description:
        - Each case the model and the user guide leave open that would change the outcome for an image or AMI of this
          preview, once, with C(case) (the name images and AMIs carry), C(question), C(shown) (the reading the
          preview shows, the one that acts on more resources) and C(sources) (the sentences that leave it open).
      type: list
      elements: dict
      returned: always
      sample:
        - case: delete_with_skipped_amis
          question: Whether a policy's delete keeps the image resource when an exclusion skips one of its AMIs, as
            StartResourceStateUpdate does.
          shown: the image resource is deleted
          sources:
            - "botocore imagebuilder model, StartResourceStateUpdateRequest.exclusionRules: 'If the target state is
              DELETED and any resource was skipped, the Image Builder image resource itself is also retained.'"
"""

import datetime

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_policy as lp
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_preview as preview
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_safety as safety


def main():
    argument_spec = dict(
        arn=dict(type="str", aliases=["lifecycle_policy_arn"]),
        name=dict(type="str"),
        details=dict(type="bool", default=True),
        safety_checks=dict(type="bool", default=False),
        **lp.policy_argument_spec(),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("arn", "name")],
        required_one_of=[("arn", "name")],
        supports_check_mode=True,
    )
    params = common.normalize_choices(module.params, argument_spec)
    errors = common.validate_options(params, {"arn": common.LIFECYCLE_POLICY_ARN}) + lp.validate_policy(params)
    if errors:
        module.fail_json(msg="; ".join(errors))

    client = common.connect(module, arn_options=["arn"])
    regional = {service: common.regional_clients(module, service) for service in ("ec2", "autoscaling", "rbin")}
    ec2_for_region = regional["ec2"]
    try:
        current = preview.policy_to_preview(module, client)
        if current is not None:
            errors = lp.errors_against(params, current)
            if errors:
                module.fail_json(msg="; ".join(errors))
        policy = dict(lp.desired_policy(params, current), arn=(current or {}).get("arn"))
        now = datetime.datetime.now(datetime.timezone.utc)
        ami_details = {} if params["safety_checks"] else None
        result = preview.describe_preview(client, ec2_for_region, policy, now, ami_details)
        if params["safety_checks"]:
            result["safety"] = safety.describe_safety(regional, result["resources"], ami_details, now)
    except common.ImageBuilderError as e:
        module.fail_json_aws_error(e)

    if not params["details"]:
        result = preview.without_details(result)
    extra = {"safety": result["safety"]["summary"]} if params["safety_checks"] else {}
    module.exit_json(changed=False, summary=result["summary"], lifecycle_policy_preview=result, **extra)


if __name__ == "__main__":
    main()
