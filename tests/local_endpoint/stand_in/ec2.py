"""EC2 DescribeImages, answered from the AMIs of the image records (an image's ``resources[]`` whose resourceId
starts ``ami-``), as the caller's account sees them in the request's region; ``ec2`` knobs on those resources say
what Image Builder does not (public, shared, last launched, tags, snapshots)."""

import copy
import hashlib
import re

from .common import EndpointError
from .common import ScenarioError
from .common import check_keys
from .common import date_time
from .common import epoch
from .common import image_parts

AMI_ID = re.compile(r"^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
SNAPSHOT_ID = re.compile(r"^snap-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
# The stand-in knob on an image's AMI resource: what EC2 DescribeImages says of that AMI.
AMI_EC2_KEYS = ("public", "shared_accounts", "last_launched", "tags", "snapshots", "deregistration_protection")
# Image.DeregistrationProtection is a free string in the model ("Indicates whether deregistration protection is
# enabled for the AMI"); these are the values the EC2 User Guide shows.
DEREGISTRATION_PROTECTION = ("disabled", "enabled-with-cooldown", "enabled-without-cooldown")
# The Image Builder image status -> the AMI's EC2 state; a DELETED image's AMIs are deregistered (never listed).
# EC2 has no "deprecated" state: a deprecated AMI is "available" with a DeprecationTime in the past.
AMI_STATES = {"AVAILABLE": "available", "DEPRECATED": "available", "DISABLED": "disabled", "FAILED": "failed"}
# What every AMI of an Image Builder image has in common here.
FIXED = {"Architecture": "x86_64", "ImageType": "machine", "RootDeviceName": "/dev/xvda", "RootDeviceType": "ebs"}
FIXED.update(VirtualizationType="hvm", Hypervisor="xen", EnaSupport=True)
DEFAULT_VOLUME_SIZE = 8


def is_list_of(pattern):
    return lambda value: isinstance(value, list) and all(isinstance(x, str) and pattern.match(x) for x in value)


# Each key of the knob: the check of its value, and the form a ScenarioError names.
KNOB = {
    "public": (lambda value: isinstance(value, bool), "true or false"),
    "shared_accounts": (is_list_of(ACCOUNT_ID), "a list of 12-digit account ids"),
    "tags": (lambda value: isinstance(value, dict) and all(isinstance(v, str) for v in value.values()), "an object"),
    "snapshots": (is_list_of(SNAPSHOT_ID), "a list of snapshot ids (snap-...)"),
    "deregistration_protection": (
        lambda value: value in DEREGISTRATION_PROTECTION,
        f"one of {DEREGISTRATION_PROTECTION}",
    ),
}


def ami_knob(resource, knob, where):
    """``ec2`` on an image's AMI resource: what DescribeImages says of that AMI, checked key by key."""
    if not str(resource.get("resourceId", "")).startswith("ami-"):
        raise ScenarioError(f"{where}: only an AMI resource (resourceId ami-...) takes 'ec2'")
    check_keys(knob, AMI_EC2_KEYS, where)
    info = {"shared_accounts": [], "tags": {}}
    for key, value in knob.items():
        if key == "last_launched":
            value = epoch(value, f"{where}.last_launched")
        elif not KNOB[key][0](value):
            raise ScenarioError(f"{where}.{key}: expected {KNOB[key][1]}, got {value!r}")
        info[key] = copy.deepcopy(value)
    return info


def describe_images(world, params, region, now):
    """EC2 DescribeImages in one region: the AMIs of the image records' resources, as the caller's account sees
    them (its own, and others' that are public or shared with it)."""
    dry_run(params)
    amis = [ami for ami in amis_in(world, region, now) if ami["OwnerId"] == world.account_id or visible(ami, world)]
    if "ImageIds" in params:
        amis = by_ids(amis, params["ImageIds"])
    if "Owners" in params:
        owners = {world.account_id if owner == "self" else owner for owner in params["Owners"]}
        amis = [ami for ami in amis if ami["OwnerId"] in owners]
    if "ExecutableUsers" in params:
        amis = [ami for ami in amis if executable_by(ami, params["ExecutableUsers"], world.account_id)]
    for name, values in ec2_filters(params.get("Filters", [])):
        amis = [ami for ami in amis if filter_matches(ami, name, values)]
    amis = [ami for ami in amis if included(world, ami, params, now)]
    page, token = ec2_page(world, "DescribeImages", params, region, amis)
    result = {"Images": [{key: value for key, value in ami.items() if not key.startswith("_")} for ami in page]}
    if token is not None:
        result["NextToken"] = token
    return result


def ami_resources(world, region):
    """(image ARN, image, AMI resource, (status, since)) of every AMI the image records hold in one region."""
    for arn, image in world.images.items():
        # The image's status and when it was set, or what its AMIs kept through updates that left them out.
        status, since = image.get("ami_state", (image["status"], image["status_since"]))
        if status == "DELETED" or not world.service.image_build_version_arn.search(arn):
            continue
        for resource in image["resources"]:
            ami_id = str(resource.get("resourceId", ""))
            if ami_id.startswith("ami-") and resource.get("region", world.region) == region:
                yield arn, image, resource, (status, since)


def amis_in(world, region, now):
    """Every AMI the image records hold in one region, as DescribeImages writes it (private fields with _)."""
    amis = [
        ami_of(world, arn, image, resource, status, now)
        for arn, image, resource, status in ami_resources(world, region)
    ]
    return sorted(amis, key=lambda ami: ami["ImageId"])


def ami_ids_in(world, region):
    """The IDs of amis_in(): what a call that only asks whether an AMI is there needs (no answer built per AMI)."""
    return {resource["resourceId"] for dummy, dummy, resource, dummy in ami_resources(world, region)}


def ami_of(world, arn, image, resource, status_since, now):
    status, since = status_since
    state = AMI_STATES.get(status, "pending")
    name, version, build = image_parts(arn)
    ami_id = resource["resourceId"]
    knob = image["ec2"].get(ami_id, {})
    owner = resource.get("accountId", world.account_id)
    ami_name = f"{name}-{version}-{build}"
    windows = image["platform"] == "Windows"
    ami = dict(FIXED, ImageId=ami_id, ImageLocation=f"{owner}/{ami_name}", State=state, OwnerId=owner, Name=ami_name)
    ami.update(CreationDate=date_time(image["created"]), Public=knob.get("public", False))
    ami.update(Description=f"Image Builder image {arn}", _shared_accounts=knob.get("shared_accounts", []))
    ami.update(PlatformDetails="Windows" if windows else "Linux/UNIX")
    ami.update(UsageOperation="RunInstances:0002" if windows else "RunInstances")
    ebs = {"DeleteOnTermination": True, "VolumeType": "gp3", "Encrypted": False}
    snapshots = enumerate(ami_snapshots(resource, knob))
    # A declared snapshot's volume size (scenario ``snapshots``), else 8 GiB.
    size = {
        snap: world.snapshots.get(snap, {}).get("VolumeSize", DEFAULT_VOLUME_SIZE)
        for snap in ami_snapshots(resource, knob)
    }
    devices = [
        {"DeviceName": f"/dev/xvd{chr(ord('a') + i)}", "Ebs": dict(ebs, SnapshotId=snap, VolumeSize=size[snap])}
        for i, snap in snapshots
    ]
    ami["BlockDeviceMappings"] = devices
    if "deregistration_protection" in knob:
        ami["DeregistrationProtection"] = knob["deregistration_protection"]
    deprecation = image.get("deprecationTime")
    if deprecation is None and status == "DEPRECATED":
        deprecation = since
    if deprecation is not None:
        ami["DeprecationTime"] = date_time(deprecation)
    ami["_deprecated"] = status == "DEPRECATED" or (deprecation is not None and deprecation <= now)
    if "last_launched" in knob:
        ami["LastLaunchedTime"] = date_time(knob["last_launched"])
    if knob.get("tags"):
        ami["Tags"] = [{"Key": key, "Value": value} for key, value in knob["tags"].items()]
    return ami


def by_ids(amis, ids):
    malformed = [ami_id for ami_id in ids if not AMI_ID.match(ami_id)]
    if malformed:
        raise EndpointError("InvalidAMIID.Malformed", f'Invalid id: "{malformed[0]}"', 400)
    known = {ami["ImageId"] for ami in amis}
    missing = [ami_id for ami_id in ids if ami_id not in known]
    if missing:
        raise EndpointError("InvalidAMIID.NotFound", f"The image id '[{', '.join(missing)}]' does not exist", 400)
    return [ami for ami in amis if ami["ImageId"] in set(ids)]


def included(world, ami, params, now):
    """IncludeDisabled: "No disabled AMIs are included" by default. IncludeDeprecated: none by default, but "If you
    are the AMI owner, all deprecated AMIs appear in the response regardless"."""
    if ami["State"] == "disabled" and not params.get("IncludeDisabled"):
        return False
    if ami["_deprecated"] and ami["OwnerId"] != world.account_id and not params.get("IncludeDeprecated"):
        return False
    return True


def ec2_page(world, operation, params, region, items, bounds=(1, None)):
    """Pages of ``MaxResults`` within ``bounds`` (DescribeImages': the model states none; >= 1) and a token bound to
    the other parameters and the region; without MaxResults, everything in one answer."""
    invalid = EndpointError("InvalidPaginationToken", "The token provided is invalid or expired.", 400)
    paging = ("MaxResults", "NextToken", *bounds, None, "InvalidParameterValue", invalid)
    return world.regional_page(operation, params, region, items, paging)


def paged(world, operation, params, region, items, result_key, bounds=(1, None)):
    """An EC2 listing's answer: ``{result_key: page}`` and its ``NextToken`` when there is more."""
    page, token = ec2_page(world, operation, params, region, items, bounds)
    return dict({result_key: page}, **({"NextToken": token} if token is not None else {}))


def dry_run(params):
    if params.get("DryRun"):
        raise EndpointError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)


def visible(ami, world):
    """Another account's AMI is visible when it is public or shared with the caller's account."""
    return ami["Public"] or world.account_id in ami["_shared_accounts"]


def executable_by(ami, users, account_id):
    """ExecutableUsers: ``all`` gives public AMIs; an account id (``self`` is the caller's) the AMIs shared with it.
    An owner's implicit launch permission is not an explicit one: its own AMIs match only when shared with it."""
    for user in users:
        if user == "all" and ami["Public"]:
            return True
        if (account_id if user == "self" else user) in ami["_shared_accounts"]:
            return True
    return False


# DescribeImages filters the endpoint answers (the model documents more: those are refused as not implemented).
EC2_FILTERS = ("image-id", "is-public", "name", "owner-id", "state", "tag-key", "tag:<key>")
EC2_FILTERS += ("block-device-mapping.snapshot-id",)


def ec2_filters(filters, known=EC2_FILTERS):
    """(name, FilterValues) of each filter, refusing the names the endpoint does not answer."""
    found = []
    for item in filters:
        name = item.get("Name")
        if name is None or not item.get("Values"):
            message = f"The filter '{name}' needs a Name and at least one Value"
        elif name not in known and not ("tag:<key>" in known and name.startswith("tag:") and len(name) > 4):
            message = f"The filter '{name}' is invalid or not implemented by the local endpoint; use one of {known}"
        else:
            found.append((name, FilterValues(item["Values"])))
            continue
        raise EndpointError("InvalidParameterValue", message, 400)
    return found


def wildcard(value):
    """EC2 filter values take ``*`` (any characters) and ``?`` (one)."""
    return re.compile("^" + re.escape(value).replace(r"\*", ".*").replace(r"\?", ".") + "$")


class FilterValues:
    """A filter's values: those without a wildcard looked up in a set, the others compiled (wildcard()), so that a
    filter of hundreds of IDs costs one lookup per candidate, not one regular expression per value."""

    def __init__(self, values):
        self.exact = {value for value in values if "*" not in value and "?" not in value}
        self.patterns = [wildcard(value) for value in values if value not in self.exact]

    def matches_any(self, candidates):
        return any(c in self.exact or any(p.match(c) for p in self.patterns) for c in map(str, candidates))


def filter_matches(ami, name, values):
    if name == "is-public":
        return values.matches_any(["true" if ami["Public"] else "false"])
    if name == "block-device-mapping.snapshot-id":
        return values.matches_any(device["Ebs"]["SnapshotId"] for device in ami["BlockDeviceMappings"])
    field = {"image-id": "ImageId", "name": "Name", "owner-id": "OwnerId", "state": "State"}.get(name)
    return matches(ami, name, values, lambda item: [item[field]])


def matches(item, name, values, candidates):
    """An EC2 filter on an answer's item: ``tag-key`` and ``tag:<key>`` on its Tags, the others on what
    ``candidates(item)`` gives for that filter."""
    tags = {tag["Key"]: tag["Value"] for tag in item.get("Tags", [])}
    if name == "tag-key":
        found = list(tags)
    elif name.startswith("tag:"):
        found = [tags[name[4:]]] if name[4:] in tags else []
    else:
        found = candidates(item)
    return values.matches_any(found)


def ami_snapshots(resource, knob):
    """The knob's snapshots, else the resource's own (what an execution shows), else one derived from the AMI id."""
    if "snapshots" in knob:
        return knob["snapshots"]
    declared = [snap["snapshotId"] for snap in resource.get("snapshots", []) if "snapshotId" in snap]
    return declared or [default_snapshot_id(resource["resourceId"])]


def default_snapshot_id(ami_id):
    """The snapshot an AMI without declared snapshots has: ``snap-`` and 17 hex digits derived from its id."""
    return "snap-" + hashlib.sha256(ami_id.encode()).hexdigest()[:17]


OPERATIONS = {"DescribeImages": describe_images}
