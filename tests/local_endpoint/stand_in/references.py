"""What refers to an AMI, as EC2 answers it: DescribeInstances, DescribeLaunchTemplateVersions and
DescribeImageReferences, from the scenario's ``instances``, ``launch_templates``, ``ssm_parameters`` and ``recipes``."""

import hashlib
import re

from .common import EndpointError
from .common import ScenarioError
from .common import check_keys
from .common import epoch
from .common import listed
from .common import matching_id
from .common import tag_list
from .ec2 import AMI_ID
from .ec2 import ami_ids_in
from .ec2 import dry_run
from .ec2 import ec2_filters
from .ec2 import matches
from .ec2 import paged

INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
LAUNCH_TEMPLATE_ID = re.compile(r"^lt-[0-9a-f]{17}$")
RECIPE_ARN = re.compile(
    r"^arn:aws[a-z-]*:imagebuilder:([a-z0-9-]+):([0-9]{12}):(image|container)-recipe/[a-z0-9-_]+"
    r"/[0-9]+\.[0-9]+\.[0-9]+$"
)
# An instance's state name and its code (InstanceState.Code: "The state of the instance as a 16-bit unsigned integer").
INSTANCE_STATES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}
INSTANCE_KEYS = ("InstanceId", "ImageId", "state", "InstanceType", "LaunchTime", "region", "tags")
TEMPLATE_KEYS = ("LaunchTemplateId", "LaunchTemplateName", "default_version", "versions", "CreateTime", "region")
TEMPLATE_KEYS += ("tags",)
# A version: the LaunchTemplateData members the endpoint answers, and ``copies`` (that many versions alike in a row).
VERSION_KEYS = ("ImageId", "InstanceType", "copies")
PARAMETER_KEYS = ("Name", "Value", "region")
RECIPE_KEYS = ("arn", "parentImage")
INSTANCE_FILTERS = ("image-id", "instance-id", "instance-state-name", "instance-type", "tag-key", "tag:<key>")
INSTANCE_FIELDS = {"image-id": "ImageId", "instance-id": "InstanceId", "instance-type": "InstanceType"}
VERSION_FILTERS = ("image-id", "instance-type", "is-default-version")
# The reference types, and DescribeImageReferences' documented option defaults: ResourceTypeOption.OptionValues
# "For state-name: ... Default: All states"; "For version-depth: Valid values: Integers between 1 and 10000
# Default: 10".
INSTANCE, TEMPLATE, PARAMETER = "ec2:Instance", "ec2:LaunchTemplate", "ssm:Parameter"
IMAGE_RECIPE, CONTAINER_RECIPE = "imagebuilder:ImageRecipe", "imagebuilder:ContainerRecipe"
REFERENCE_TYPES = (INSTANCE, TEMPLATE, PARAMETER, IMAGE_RECIPE, CONTAINER_RECIPE)
OPTION_OF = {INSTANCE: "state-name", TEMPLATE: "version-depth"}
DEFAULT_VERSION_DEPTH, MAX_VERSION_DEPTH = 10, 10000
# The model gives MaxResults a minimum of 5 and no maximum; the EC2 API Reference's Pagination page: up to 1000.
PAGE_BOUNDS = (5, 1000)
ALIAS = "resolve:ssm:"


def load(scenario, world):
    """The scenario's references, each checked: {"instances": [...], "launch_templates": [...], "ssm_parameters":
    [...], "recipes": [...]}."""
    loaded = {"instances": [], "launch_templates": [], "ssm_parameters": [], "recipes": []}
    for entry, where in listed(scenario, "instances"):
        loaded["instances"].append(instance(entry, where, world))
    for entry, where in listed(scenario, "launch_templates"):
        loaded["launch_templates"].append(template(entry, where, world))
    for entry, where in listed(scenario, "ssm_parameters"):
        check_keys(entry, PARAMETER_KEYS, where)
        if not str(entry.get("Name", "")).startswith("/"):
            raise ScenarioError(f"{where}.Name: expected a parameter name starting with '/'")
        matching_id(AMI_ID, entry.get("Value"), "an AMI id (ami-...): the parameter's aws:ec2:image value", where)
        loaded["ssm_parameters"].append(dict(entry, region=entry.get("region", world.region)))
    for entry, where in listed(scenario, "recipes"):
        check_keys(entry, RECIPE_KEYS, where)
        match = RECIPE_ARN.match(str(entry.get("arn", "")))
        if match is None or match.group(2) != world.account_id:
            raise ScenarioError(f"{where}.arn: expected an image or container recipe ARN of account {world.account_id}")
        matching_id(AMI_ID, entry.get("parentImage"), "an AMI id (ami-...)", f"{where}.parentImage")
        kind = IMAGE_RECIPE if match.group(3) == "image" else CONTAINER_RECIPE
        loaded["recipes"].append(dict(entry, region=match.group(1), type=kind))
    for kind, ids in (
        ("instances", [item["instance"]["InstanceId"] for item in loaded["instances"]]),
        ("launch_templates", [item["id"] for item in loaded["launch_templates"]]),
    ):
        if len(ids) != len(set(ids)):
            raise ScenarioError(f"{kind}: {sorted(i for i in ids if ids.count(i) > 1)[0]} appears twice")
    return loaded


def instance(entry, where, world):
    check_keys(entry, INSTANCE_KEYS, where)
    instance_id = matching_id(INSTANCE_ID, entry.get("InstanceId"), "an InstanceId i-...", f"{where}.InstanceId")
    image_id = matching_id(AMI_ID, entry.get("ImageId"), "an ImageId ami-...", f"{where}.ImageId")
    state = entry.get("state", "running")
    if state not in INSTANCE_STATES:
        raise ScenarioError(f"{where}.state: expected one of {list(INSTANCE_STATES)}, got {state!r}")
    region = entry.get("region", world.region)
    launched = epoch(entry.get("LaunchTime", "2024-06-01T00:00:00Z"), f"{where}.LaunchTime")
    found = {"InstanceId": instance_id, "ImageId": image_id, "State": {"Code": INSTANCE_STATES[state], "Name": state}}
    found.update(InstanceType=entry.get("InstanceType", "t3.micro"), LaunchTime=launched, AmiLaunchIndex=0)
    found.update(Placement={"AvailabilityZone": f"{region}a"}, Architecture="x86_64", RootDeviceType="ebs")
    tags = tag_list(entry.get("tags", {}), f"{where}.tags")
    if tags:
        found["Tags"] = tags
    return {"region": region, "instance": found}


def template(entry, where, world):
    check_keys(entry, TEMPLATE_KEYS, where)
    template_id = entry.get("LaunchTemplateId")
    matching_id(
        LAUNCH_TEMPLATE_ID, template_id, "a LaunchTemplateId lt- and 17 hex digits", f"{where}.LaunchTemplateId"
    )
    name = entry.get("LaunchTemplateName")
    if not isinstance(name, str) or not re.match(r"^[a-zA-Z0-9().\-/_]{3,128}$", name):
        raise ScenarioError(f"{where}.LaunchTemplateName: expected 3 to 128 of a-z A-Z 0-9 ( ) . - / _")
    if not isinstance(entry.get("versions"), list) or not entry["versions"]:
        raise ScenarioError(f"{where}.versions: expected a list of versions (oldest first)")
    created = epoch(entry.get("CreateTime", "2024-05-01T00:00:00Z"), f"{where}.CreateTime")
    versions = []
    for index, version in enumerate(entry["versions"]):
        place = f"{where}.versions[{index}]"
        check_keys(version, VERSION_KEYS, place)
        image = version.get("ImageId")
        if not (isinstance(image, str) and (AMI_ID.match(image) or image.startswith(ALIAS))):
            raise ScenarioError(f"{place}.ImageId: expected an AMI id (ami-...) or {ALIAS}<parameter name>")
        copies = version.get("copies", 1)
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
            raise ScenarioError(f"{place}.copies: expected a positive integer")
        data = {"ImageId": image, "InstanceType": version.get("InstanceType", "t3.micro")}
        versions += [data] * copies
    default = entry.get("default_version", 1)
    if isinstance(default, bool) or not isinstance(default, int) or not 1 <= default <= len(versions):
        raise ScenarioError(f"{where}.default_version: expected a version number from 1 to {len(versions)}")
    tags = tag_list(entry.get("tags", {}), f"{where}.tags")
    return {
        "id": template_id,
        "name": name,
        "region": entry.get("region", world.region),
        "default": default,
        "versions": versions,
        "created": created,
        "tags": tags,
    }


def account_arn(world, region, service, resource):
    return f"arn:aws:{service}:{region}:{world.account_id}:{resource}"


# -- DescribeInstances ------------------------------------------------------------------------------------------------


def describe_instances(world, params, region, now):  # pylint: disable=unused-argument
    """EC2 DescribeInstances in one region: one reservation per instance (terminated ones too, as "recently
    terminated instances might appear"), by InstanceIds or the filters above, paginated (MaxResults not with
    InstanceIds, as documented)."""
    dry_run(params)
    found = [item["instance"] for item in world.references["instances"] if item["region"] == region]
    if "InstanceIds" in params:
        if "MaxResults" in params:
            message = "The parameter instancesSet cannot be used with the parameter maxResults"
            raise EndpointError("InvalidParameterCombination", message, 400)
        malformed = [i for i in params["InstanceIds"] if not INSTANCE_ID.match(i)]
        if malformed:
            raise EndpointError("InvalidInstanceID.Malformed", f'Invalid id: "{malformed[0]}"', 400)
        missing = [i for i in params["InstanceIds"] if i not in {item["InstanceId"] for item in found}]
        if missing:
            message = f"The instance IDs '{', '.join(missing)}' do not exist"
            raise EndpointError("InvalidInstanceID.NotFound", message, 400)
        found = [item for item in found if item["InstanceId"] in set(params["InstanceIds"])]
    for name, values in ec2_filters(params.get("Filters", []), INSTANCE_FILTERS):
        found = [item for item in found if matches(item, name, values, instance_field(name))]
    reservations = [
        {
            "ReservationId": "r-" + hashlib.sha256(item["InstanceId"].encode()).hexdigest()[:17],
            "OwnerId": world.account_id,
            "Groups": [],
            "Instances": [item],
        }
        for item in sorted(found, key=lambda item: item["InstanceId"])
    ]
    return paged(world, "DescribeInstances", params, region, reservations, "Reservations", PAGE_BOUNDS)


def instance_field(name):
    if name == "instance-state-name":
        return lambda item: [item["State"]["Name"]]
    return lambda item: [item[INSTANCE_FIELDS[name]]]


# -- DescribeLaunchTemplateVersions -----------------------------------------------------------------------------------


def describe_launch_template_versions(world, params, region, now):  # pylint: disable=unused-argument
    """EC2 DescribeLaunchTemplateVersions in one region, as its documentation says: one template (by id or by name,
    not both) and its versions ($Latest, $Default, numbers; MinVersion, MaxVersion; else all of them), or, without a
    template, "all the latest versions or all the default versions of all the launch templates in your account"
    ($Latest and/or $Default only). Newest version first, templates by id. Filters: those above; MaxResults 1 to 200
    ("This value can be between 1 and 200")."""
    dry_run(params)
    templates = [item for item in world.references["launch_templates"] if item["region"] == region]
    named = [key for key in ("LaunchTemplateId", "LaunchTemplateName") if key in params]
    versions = params.get("Versions", [])
    if len(named) == 2:
        message = "Specify either the launch template ID or the launch template name, but not both."
        raise EndpointError("InvalidParameterCombination", message, 400)
    if named:
        chosen = [one_template(templates, named[0], params[named[0]])]
    else:
        if not versions or set(versions) - {"$Latest", "$Default"} or {"MinVersion", "MaxVersion"} & set(params):
            message = (
                "To describe all launch templates in your account, specify only $Latest and/or $Default as Versions"
                " (no version numbers, MinVersion or MaxVersion)."
            )
            raise EndpointError("InvalidParameterValue" if versions else "MissingParameter", message, 400)
        chosen = templates
    answers = []
    for item in sorted(chosen, key=lambda t: t["id"]):
        wanted = numbers_of(item, versions, params) if named else aliases(item, versions)
        for number in sorted(wanted, reverse=True):
            answers.append(version_answer(world, item, number, params.get("ResolveAlias", False)))
    for name, values in ec2_filters(params.get("Filters", []), VERSION_FILTERS):
        answers = [answer for answer in answers if version_matches(answer, name, values)]
    return paged(world, "DescribeLaunchTemplateVersions", params, region, answers, "LaunchTemplateVersions", (1, 200))


def one_template(templates, key, value):
    field = "id" if key == "LaunchTemplateId" else "name"
    if key == "LaunchTemplateId" and not LAUNCH_TEMPLATE_ID.match(value):
        raise EndpointError("InvalidLaunchTemplateId.Malformed", f"The launch template ID '{value}' is malformed", 400)
    for item in templates:
        if item[field] == value:
            return item
    if key == "LaunchTemplateId":
        raise EndpointError("InvalidLaunchTemplateId.NotFound", f"The launch template ID '{value}' does not exist", 400)
    message = f"At least one of the launch templates specified in the request does not exist: '{value}'"
    raise EndpointError("InvalidLaunchTemplateName.NotFoundException", message, 400)


def aliases(item, versions):
    numbers = set()
    if "$Latest" in versions:
        numbers.add(len(item["versions"]))
    if "$Default" in versions:
        numbers.add(item["default"])
    return numbers


def numbers_of(item, versions, params):
    """The version numbers a request names of one template: $Latest, $Default and numbers; MinVersion and
    MaxVersion ("after which", "up to which"); nothing named: all of them. An unknown number: VersionNotFound."""
    latest = len(item["versions"])
    if not versions and not {"MinVersion", "MaxVersion"} & set(params):
        return set(range(1, latest + 1))
    numbers = aliases(item, versions)
    for version in set(versions) - {"$Latest", "$Default"}:
        if not version.isdigit() or not 1 <= int(version) <= latest:
            message = f"Could not find launch template version {version} of {item['id']}"
            raise EndpointError("InvalidLaunchTemplateId.VersionNotFound", message, 400)
        numbers.add(int(version))
    if {"MinVersion", "MaxVersion"} & set(params):
        low, high = (bound(params, key, item) for key in ("MinVersion", "MaxVersion"))
        numbers |= set(range((low or 0) + 1, min(high or latest, latest) + 1))
    return numbers


def bound(params, key, item):
    if key not in params:
        return None
    value = params[key]
    if value in ("$Latest", "$Default"):
        return len(item["versions"]) if value == "$Latest" else item["default"]
    if not value.isdigit():
        raise EndpointError("InvalidParameterValue", f"{key} must be a version number, not '{value}'", 400)
    return int(value)


def version_answer(world, item, number, resolve):
    data = dict(item["versions"][number - 1])
    if resolve and data["ImageId"].startswith(ALIAS):
        # ResolveAlias: "If true, and if a Systems Manager parameter is specified for ImageId, the AMI ID is
        # displayed in the response for imageId."
        data["ImageId"] = parameter_value(world, item["region"], data["ImageId"][len(ALIAS) :]) or data["ImageId"]
    answer = {"LaunchTemplateId": item["id"], "LaunchTemplateName": item["name"], "VersionNumber": number}
    answer.update(CreateTime=item["created"] + (number - 1) * 86400.0, DefaultVersion=number == item["default"])
    answer.update(CreatedBy=f"arn:aws:iam::{world.account_id}:root", LaunchTemplateData=data)
    return answer


def parameter_value(world, region, name):
    for parameter in world.references["ssm_parameters"]:
        if parameter["region"] == region and parameter["Name"] == name:
            return parameter["Value"]
    return None


def version_matches(answer, name, values):
    if name == "is-default-version":
        found = "true" if answer["DefaultVersion"] else "false"
    else:
        found = answer["LaunchTemplateData"]["ImageId" if name == "image-id" else "InstanceType"]
    return values.matches_any([found])


# -- DescribeImageReferences ------------------------------------------------------------------------------------------


def describe_image_references(world, params, region, now):  # pylint: disable=unused-argument
    """EC2 DescribeImageReferences in one region: for each AMI asked for (up to 10, the model's bounds; one that is
    not there: InvalidAMIID.NotFound), the resources of the types asked for that refer to it, one reference each.

    IncludeAllResourceTypes: "When specified, default values are applied for ResourceTypeOptions ... If you also
    specify ResourceTypes with ResourceTypeOptions, your specified values override the default values." The defaults
    (ResourceTypeOption.OptionValues): instances in every state ("Default: All states"), launch templates searched
    10 versions back from the latest ("version-depth - The number of launch template versions to check, starting
    from the most recent version ... Default: 10"). A launch template is referenced when one of the versions searched
    names the AMI by id (a ``resolve:ssm:`` alias is not followed: the documentation says nothing of one);
    an SSM parameter when its value is the AMI; a recipe when its parent image is.
    """
    dry_run(params)
    if not params.get("IncludeAllResourceTypes") and not params.get("ResourceTypes"):
        message = "Either IncludeAllResourceTypes or ResourceTypes must be specified."
        raise EndpointError("MissingParameter", message, 400)
    options = reference_options(params)
    malformed = [ami for ami in params["ImageIds"] if not AMI_ID.match(ami)]
    if malformed:
        raise EndpointError("InvalidAMIID.Malformed", f'Invalid id: "{malformed[0]}"', 400)
    known = ami_ids_in(world, region)
    missing = [ami for ami in params["ImageIds"] if ami not in known]
    if missing:
        raise EndpointError("InvalidAMIID.NotFound", f"The image id '[{', '.join(missing)}]' does not exist", 400)
    found = []
    for ami in dict.fromkeys(params["ImageIds"]):
        for kind, option in options.items():
            found += [
                {"ImageId": ami, "ResourceType": kind, "Arn": arn}
                for arn in referrers(world, region, kind, ami, option)
            ]
    return paged(world, "DescribeImageReferences", params, region, found, "ImageReferences", PAGE_BOUNDS)


def reference_options(params):
    """{resource type: its option's values (None: the default)} of the types asked for."""
    chosen = dict.fromkeys(REFERENCE_TYPES) if params.get("IncludeAllResourceTypes") else {}
    for item in params.get("ResourceTypes", []):
        kind = item.get("ResourceType")
        if kind is None:
            raise EndpointError("MissingParameter", "Each ResourceTypes item needs a ResourceType", 400)
        chosen[kind] = None
        for option in item.get("ResourceTypeOptions", []):
            name, values = option.get("OptionName"), option.get("OptionValues", [])
            if OPTION_OF.get(kind) != name:
                # ResourceTypeOptions: "Valid only when ResourceType is ec2:Instance or ec2:LaunchTemplate."
                message = f"The option {name} is not valid for {kind}; ec2:Instance takes state-name, "
                message += "ec2:LaunchTemplate version-depth"
                raise EndpointError("InvalidParameterValue", message, 400)
            chosen[kind] = option_values(name, values)
    return chosen


def option_values(name, values):
    if name == "state-name":
        unknown = sorted(set(values) - set(INSTANCE_STATES))
        if not values or unknown:
            message = f"state-name takes {list(INSTANCE_STATES)}, not {unknown or 'nothing'}"
            raise EndpointError("InvalidParameterValue", message, 400)
        return set(values)
    if len(values) != 1 or not values[0].isdigit() or not 1 <= int(values[0]) <= MAX_VERSION_DEPTH:
        message = f"version-depth takes one integer between 1 and {MAX_VERSION_DEPTH}, not {values}"
        raise EndpointError("InvalidParameterValue", message, 400)
    return int(values[0])


def referrers(world, region, kind, ami, option):
    """The ARNs of the resources of one type that refer to the AMI, sorted."""
    found = []
    if kind == INSTANCE:
        states = option or set(INSTANCE_STATES)
        found = [
            account_arn(world, region, "ec2", f"instance/{item['instance']['InstanceId']}")
            for item in world.references["instances"]
            if item["region"] == region
            and item["instance"]["ImageId"] == ami
            and item["instance"]["State"]["Name"] in states
        ]
    elif kind == TEMPLATE:
        depth = option or DEFAULT_VERSION_DEPTH
        found = [
            account_arn(world, region, "ec2", f"launch-template/{item['id']}")
            for item in world.references["launch_templates"]
            if item["region"] == region and any(data["ImageId"] == ami for data in item["versions"][-depth:])
        ]
    elif kind == PARAMETER:
        found = [
            account_arn(world, region, "ssm", f"parameter{item['Name']}")
            for item in world.references["ssm_parameters"]
            if item["region"] == region and item["Value"] == ami
        ]
    else:
        found = [
            item["arn"]
            for item in world.references["recipes"]
            if item["region"] == region and item["type"] == kind and item["parentImage"] == ami
        ]
    return sorted(found)


OPERATIONS = {
    "DescribeInstances": describe_instances,
    "DescribeLaunchTemplateVersions": describe_launch_template_versions,
    "DescribeImageReferences": describe_image_references,
}
