# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Is an AMI still in use? What refers to it in this account and region, each kind of reference read with the call
that has it, and a verdict per AMI: ``in_use``, ``not_in_use`` only when every kind was checked, else ``unknown`` with
what could not be checked and why.

The kinds, and the read each comes from (every read batched as its model allows, never one call per AMI):

- ``instance``: EC2 DescribeInstances (image-id filter, every state but terminated);
- ``launch_template``: EC2 DescribeLaunchTemplateVersions of every template's $Default and $Latest version;
- ``ssm_parameter``, ``image_recipe``, ``container_recipe`` (and any type EC2 adds): EC2 DescribeImageReferences;
- ``auto_scaling_group``: Auto Scaling DescribeAutoScalingGroups, the launch templates a group names resolved to their
  version's AMI, and a mixed instances policy's per-override ImageId;
- ``launch_configuration``: Auto Scaling DescribeLaunchConfigurations.
"""

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import paginate
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import Unchecked
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import batches
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import checked
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import lacks_member
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.safety_checks import lacks_operation

# DescribeImageReferences' types, as this module names them. Its ec2:Instance and ec2:LaunchTemplate answers are not
# used: with IncludeAllResourceTypes they follow its defaults (the model's ResourceTypeOption.OptionValues:
# "state-name ... Default: All states", "version-depth ... Default: 10"), so they count terminated instances and miss a
# $Default more than 10 versions behind; and they carry an ARN only, neither state nor version. Those two kinds are
# read with DescribeInstances and DescribeLaunchTemplateVersions instead. IncludeAllResourceTypes is still what is
# asked, so that a type EC2 adds later is a reference here at once.
REFERENCE_TYPES = {
    "ssm:Parameter": "ssm_parameter",
    "imagebuilder:ImageRecipe": "image_recipe",
    "imagebuilder:ContainerRecipe": "container_recipe",
}
READ_ELSEWHERE = ("ec2:Instance", "ec2:LaunchTemplate")
KINDS = (
    "image",
    "instance",
    "launch_template",
    "auto_scaling_group",
    "launch_configuration",
) + tuple(REFERENCE_TYPES.values())

# InstanceState.Name: "pending | running | shutting-down | terminated | stopping | stopped". A terminated instance
# cannot be started again: it is not a use. A stopped one can: it is.
LIVE_INSTANCE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]
# AMI IDs per filter of a listing (DescribeInstances, DescribeLaunchTemplateVersions): the ec2 model states no limit on
# filter values; as lifecycle_preview.AMI_BATCH, so that no request grows with the selection.
FILTER_BATCH = 200
# LaunchTemplateSpecification.Version (autoscaling): "The default value is $Default."
DEFAULT_VERSION = "$Default"

USE_NOTES = {
    # What each action does to the users of the AMI. EC2 user guide, "Disable an Amazon EC2 AMI": "Launch services,
    # such as launch templates and Auto Scaling groups, can continue to reference disabled AMIs. Subsequent instance
    # launches from a disabled AMI will fail", "EC2 instances that were previously launched using an AMI that is
    # subsequently disabled are not affected", and, re-enabled, "AWS accounts, organizations, and Organizational Units
    # that lost access to the AMI when it was disabled do not regain access automatically".
    "DEPRECATE": "a deprecated AMI can still be launched by its ID: its launch templates, Auto Scaling groups and"
    " instances keep working",
    "DISABLE": "a disabled AMI cannot be launched: launch templates and Auto Scaling groups that name it fail to launch"
    " new instances (running ones are not affected), and its sharing is removed (enabling it again does not share it"
    " again)",
    "DELETE": "a deregistered AMI cannot be launched: launch templates and Auto Scaling groups that name it fail to"
    " launch new instances; running instances keep running",
}


def _by_image(references, image_ids):
    found = {ami: [] for ami in image_ids}
    for ami, reference in references:
        if ami in found:
            found[ami].append(reference)
    return found


@common.error_handler("describe the image references of {image_ids}")
def describe_image_references(ec2, image_ids):
    """DescribeImageReferences' references of other kinds than instances and launch templates, by AMI. Raises
    Unchecked when the installed botocore lacks the operation (it arrived in 1.40.18)."""
    missing = lacks_operation(ec2, "DescribeImageReferences")
    if missing:
        raise Unchecked(missing)
    # DescribeImageReferencesRequest.ImageIds: 1 to 10 a call (its model's min and max).
    size = ec2.meta.service_model.operation_model("DescribeImageReferences").input_shape.members["ImageIds"]
    found = []
    for batch in batches(image_ids, size.metadata["max"]):
        for item in paginate(
            ec2,
            ec2.describe_image_references,
            "DescribeImageReferences",
            "ImageReferences",
            ImageIds=batch,
            IncludeAllResourceTypes=True,
        ):
            if item.get("ResourceType") in READ_ELSEWHERE:
                continue
            kind = REFERENCE_TYPES.get(item.get("ResourceType"), item.get("ResourceType"))
            found.append((item.get("ImageId"), {"type": kind, "id": item.get("Arn"), "state": None}))
    return _by_image(found, image_ids)


@common.error_handler("describe the instances of {image_ids}")
def describe_instances(ec2, image_ids):
    """The instances launched from the AMIs that are not terminated, by AMI, with their state."""
    found = []
    for batch in batches(image_ids, FILTER_BATCH):
        filters = [
            {"Name": "image-id", "Values": batch},
            {"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES},
        ]
        for reservation in paginate(ec2, ec2.describe_instances, "DescribeInstances", "Reservations", Filters=filters):
            for instance in reservation.get("Instances") or []:
                state = (instance.get("State") or {}).get("Name")
                found.append(
                    (instance.get("ImageId"), {"type": "instance", "id": instance.get("InstanceId"), "state": state})
                )
    return _by_image(found, image_ids)


def _template_versions(ec2, version, image_ids):
    """Every launch template's ``version`` ($Default or $Latest) that names one of the AMIs.

    DescribeLaunchTemplateVersionsRequest.Versions: "To describe all launch templates in your account that are defined
    as the latest version, the valid value is $Latest. To describe all launch templates in your account that are
    defined as the default version, the valid value is $Default." One listing each, so that which of the two a version
    is never has to be guessed; a $Default any number of versions behind its $Latest is among them.
    """
    versions = []
    for batch in batches(image_ids, FILTER_BATCH):
        versions += paginate(
            ec2,
            ec2.describe_launch_template_versions,
            "DescribeLaunchTemplateVersions",
            "LaunchTemplateVersions",
            Versions=[version],
            Filters=[{"Name": "image-id", "Values": batch}],
        )
    return versions


@common.error_handler("describe the launch template versions that name {image_ids}")
def describe_launch_template_uses(ec2, image_ids):
    """The launch templates whose default or latest version names one of the AMIs, by AMI: a version is a use when a
    launch without a version (the default) or with $Latest takes it; each says which it is."""
    versions = {}
    for version, which in (("$Default", "default"), ("$Latest", "latest")):
        for item in _template_versions(ec2, version, image_ids):
            key = (item.get("LaunchTemplateId"), item.get("VersionNumber"))
            entry = versions.setdefault(key, {"item": item, "which": set()})
            entry["which"].add(which)
    found = []
    for (template_id, number), entry in sorted(versions.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or 0)):
        which = sorted(entry["which"])
        reference = {
            "type": "launch_template",
            "id": template_id,
            "name": entry["item"].get("LaunchTemplateName"),
            "version": number,
            "default": "default" in which,
            "latest": "latest" in which,
            "state": " and ".join(which) + " version",
        }
        found.append(((entry["item"].get("LaunchTemplateData") or {}).get("ImageId"), reference))
    return _by_image(found, image_ids)


def _launch_template_specs(group):
    """(the part of the group that names it, its LaunchTemplateSpecification) for each launch template a group names."""
    specs = []
    if group.get("LaunchTemplate"):
        specs.append(("launch_template", group["LaunchTemplate"]))
    mixed = (group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}
    if mixed.get("LaunchTemplateSpecification"):
        specs.append(("mixed_instances_policy", mixed["LaunchTemplateSpecification"]))
    for index, override in enumerate(mixed.get("Overrides") or []):
        if override.get("LaunchTemplateSpecification"):
            specs.append((f"mixed_instances_policy override {index}", override["LaunchTemplateSpecification"]))
    return specs


def _template_key(spec):
    return (
        ("id", spec["LaunchTemplateId"]) if spec.get("LaunchTemplateId") else ("name", spec.get("LaunchTemplateName"))
    )


@common.error_handler("describe versions {versions} of launch template {key[1]}")
def _resolve_template(ec2, key, versions):
    """{version as named: AMI ID} for one launch template: one call for every version the groups name of it.
    ResolveAlias: "If true, and if a Systems Manager parameter is specified for ImageId, the AMI ID is displayed"."""
    target = {"LaunchTemplateId": key[1]} if key[0] == "id" else {"LaunchTemplateName": key[1]}
    items = paginate(
        ec2,
        ec2.describe_launch_template_versions,
        "DescribeLaunchTemplateVersions",
        "LaunchTemplateVersions",
        Versions=sorted(versions),
        ResolveAlias=True,
        **target,
    )
    images = {}
    if items:
        # $Latest is the highest version number there is, so the highest of those answered.
        latest = max(items, key=lambda item: item.get("VersionNumber") or 0)
        images["$Latest"] = (latest.get("LaunchTemplateData") or {}).get("ImageId")
    for item in items:
        image = (item.get("LaunchTemplateData") or {}).get("ImageId")
        images[str(item.get("VersionNumber"))] = image
        if item.get("DefaultVersion"):
            images["$Default"] = image
    return images


def describe_auto_scaling_uses(autoscaling, ec2, image_ids):
    """The Auto Scaling groups that would launch one of the AMIs, by AMI, and the reason the kind is only partly
    checked (None when it is whole): (references, reason)."""
    groups = checked("autoscaling:DescribeAutoScalingGroups", _describe_groups, autoscaling)
    wanted = set(image_ids)
    found, reasons = [], []
    overrides = any(
        ((g.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}).get("Overrides") for g in groups
    )
    missing_member = lacks_member(autoscaling, "LaunchTemplateOverrides", "ImageId") if overrides else None
    if missing_member:
        reasons.append(f"{missing_member}: a mixed instances policy's override may name an AMI that is not seen")
    named = {}
    for group in groups:
        for dummy, spec in _launch_template_specs(group):
            named.setdefault(_template_key(spec), set()).add(spec.get("Version") or DEFAULT_VERSION)
    resolved = {}
    for key, versions in sorted(named.items()):
        try:
            resolved[key] = checked("ec2:DescribeLaunchTemplateVersions", _resolve_template, ec2, key, versions)
        except Unchecked as e:
            reasons.append(f"launch template {key[1]}: {e.reason}")
    for group in groups:
        state = group.get("Status") or "active"
        uses = []
        for part, spec in _launch_template_specs(group):
            images = resolved.get(_template_key(spec)) or {}
            version = spec.get("Version") or DEFAULT_VERSION
            if images.get(version) in wanted:
                uses.append((images[version], f"{part}: launch template {_template_key(spec)[1]} version {version}"))
        mixed = (group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}
        for index, override in enumerate(mixed.get("Overrides") or []):
            if override.get("ImageId") in wanted:
                uses.append((override["ImageId"], f"mixed_instances_policy override {index}: ImageId"))
        for ami, via in uses:
            found.append(
                (
                    ami,
                    {"type": "auto_scaling_group", "id": group.get("AutoScalingGroupName"), "state": state, "via": via},
                )
            )
    return _by_image(found, image_ids), "; ".join(reasons) or None, groups


@common.error_handler("describe the Auto Scaling groups")
def _describe_groups(autoscaling):
    return paginate(
        autoscaling, autoscaling.describe_auto_scaling_groups, "DescribeAutoScalingGroups", "AutoScalingGroups"
    )


@common.error_handler("describe the launch configurations")
def _describe_launch_configurations(autoscaling):
    return paginate(
        autoscaling,
        autoscaling.describe_launch_configurations,
        "DescribeLaunchConfigurations",
        "LaunchConfigurations",
    )


def describe_launch_configuration_uses(autoscaling, image_ids, groups=None):
    """The launch configurations that name one of the AMIs, by AMI; each says which groups use it, when the groups
    could be read (``groups``: DescribeAutoScalingGroups' answer, or None). A launch configuration no group uses is
    still a use: a group can be created or updated with it at any time."""
    configurations = checked("autoscaling:DescribeLaunchConfigurations", _describe_launch_configurations, autoscaling)
    found = []
    for configuration in configurations:
        name = configuration.get("LaunchConfigurationName")
        if groups is None:
            state = "not known whether an Auto Scaling group uses it"
        else:
            users = sorted(g.get("AutoScalingGroupName") for g in groups if g.get("LaunchConfigurationName") == name)
            state = f"used by {', '.join(users)}" if users else "used by no Auto Scaling group"
        found.append((configuration.get("ImageId"), {"type": "launch_configuration", "id": name, "state": state}))
    return _by_image(found, image_ids)


def read_references(ec2, autoscaling, image_ids):
    """Every kind of reference to the AMIs (this account's, in the clients' region): ({AMI: [reference]}, {kind:
    why it could not be checked})."""
    references = {ami: [] for ami in image_ids}
    unchecked = {}

    def add(found):
        for ami, items in found.items():
            references[ami] += items

    for kinds, action, read, args in (
        (("instance",), "ec2:DescribeInstances", describe_instances, (ec2, image_ids)),
        (("launch_template",), "ec2:DescribeLaunchTemplateVersions", describe_launch_template_uses, (ec2, image_ids)),
        (tuple(REFERENCE_TYPES.values()), "ec2:DescribeImageReferences", describe_image_references, (ec2, image_ids)),
    ):
        try:
            add(checked(action, read, *args))
        except Unchecked as e:
            unchecked.update({kind: e.reason for kind in kinds})
    groups = None
    try:
        found, partly, groups = describe_auto_scaling_uses(autoscaling, ec2, image_ids)
        add(found)
        if partly:
            unchecked["auto_scaling_group"] = partly
    except Unchecked as e:
        unchecked["auto_scaling_group"] = e.reason
    try:
        add(describe_launch_configuration_uses(autoscaling, image_ids, groups))
    except Unchecked as e:
        unchecked["launch_configuration"] = e.reason
    return references, unchecked


def verdict(references, unchecked, out_of_reach=None):
    """One AMI's answer: ``in_use`` when anything refers to it (whatever could not be checked besides), else
    ``not_in_use`` only when every kind was checked, else ``unknown`` with what was not checked and why.

    ``out_of_reach``: why this account's reads cannot see the AMI's users (another account owns it); its answer is
    then ``unknown``.
    """
    if out_of_reach:
        return {"status": "unknown", "references": [], "unchecked": [{"kind": "all", "reason": out_of_reach}]}
    not_checked = [{"kind": kind, "reason": unchecked[kind]} for kind in KINDS if kind in unchecked]
    if references:
        status = "in_use"
    elif not_checked:
        status = "unknown"
    else:
        status = "not_in_use"
    return {"status": status, "references": list(references), "unchecked": not_checked}


def owned_elsewhere(account_id=None):
    """The reason said for an AMI this account does not own (DescribeImages with Owners self does not return it)."""
    owner = f"account {account_id}" if account_id else "another account (or it is deregistered already)"
    return f"owned by {owner}: what refers to it there is out of reach of this account's reads"


def image_uses(ec2, autoscaling, image_ids, out_of_reach=None, last_launched=None, not_described=None):
    """What refers to each AMI of one region, and the verdict: {AMI: verdict() with ``last_launched``}.

    ``out_of_reach``: {AMI: owned_elsewhere()} for the AMIs another account owns (not read); ``last_launched``: {AMI:
    datetime or None} from DescribeImages. Image.LastLaunchedTime: "When the AMI is used to launch an instance, there
    is a 24-hour delay before that usage is reported." (the open case last_launched_delay, said on an AMI found not in
    use). ``not_described``: {AMI: why DescribeImages could not say whose it is}; its references are read, and it is
    never ``not_in_use``.
    """
    out_of_reach = out_of_reach or {}
    own = [ami for ami in image_ids if not out_of_reach.get(ami)]
    references, unchecked = read_references(ec2, autoscaling, own) if own else ({}, {})
    answers = {}
    for ami in image_ids:
        also = {"image": (not_described or {})[ami]} if ami in (not_described or {}) else {}
        answer = verdict(references.get(ami, []), dict(unchecked, **also), out_of_reach.get(ami))
        launched = (last_launched or {}).get(ami)
        answer["last_launched"] = launched.isoformat() if launched else None
        answer["open_questions"] = [] if answer["status"] == "in_use" else ["last_launched_delay"]
        answers[ami] = answer
    return answers
