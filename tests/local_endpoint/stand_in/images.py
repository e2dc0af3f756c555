"""Image build versions: GetImage, ListImages and ListImageBuildVersions, all answered from one image record each
(scenario ``images[]``, or a plain AVAILABLE AMI image for one that only executions mention), so they agree."""

import copy
import json
import re
import time
import uuid
from datetime import datetime

from . import executions
from . import rules
from .common import ScenarioError
from .common import date_time
from .common import epoch
from .common import image_parts
from .common import name_matches
from .common import wanted_filters

IMAGE_TYPES = ("AMI", "DOCKER")
# ListImages' and ListImageBuildVersions' filters (their documentation lists these five), by the summary member.
IMAGE_FILTERS = ("name", "osVersion", "platform", "type", "version")
# What an image record gives when the scenario leaves it out (the scenario's own key: the API member's name).
IMAGE_DEFAULTS = {
    "platform": "Linux",
    "osVersion": "Amazon Linux 2023",
    "buildType": "USER_INITIATED",
    "imageSource": "CUSTOM",
    "dateCreated": "2024-05-01T00:00:00Z",
}


def image_record(image, resources, knobs, where):
    """One image as every image read answers it. Enumerated members are not checked here: the output validator
    catches them when they are sent."""
    image_type = image.get("type", "AMI")
    if image_type not in IMAGE_TYPES:
        raise ScenarioError(f"{where}.type: expected one of {list(IMAGE_TYPES)}, got {image_type!r}")
    record = {
        "resources": resources,
        "status": image.get("state", "AVAILABLE"),
        "type": image_type,
        "created": epoch(image.get("dateCreated", IMAGE_DEFAULTS["dateCreated"]), f"{where}.dateCreated"),
        "ec2": knobs,
        # When the status was last set (the load, or a state update): a deprecated AMI's DeprecationTime.
        "status_since": float(int(time.time())),
    }
    for key in ("platform", "osVersion", "buildType", "imageSource"):
        record[key] = image.get(key, IMAGE_DEFAULTS[key])
    if "tags" in image:
        if not isinstance(image["tags"], dict):
            raise ScenarioError(f"{where}.tags: expected an object of tag names and values")
        record["tags"] = dict(image["tags"])
    for key in ("outputResources", "lifecycleExecutionId"):
        if key in image:
            record[key] = copy.deepcopy(image[key])
    if "deprecationTime" in image:
        record["deprecationTime"] = epoch(image["deprecationTime"], f"{where}.deprecationTime")
    return record


def image_summary(world, arn, image):
    """The ImageSummary of one image record (GetImage's Image is the same, without owner)."""
    name, version, build = image_parts(arn)
    summary = {"arn": arn, "name": name, "type": image["type"], "version": f"{version}/{build}"}
    summary.update(platform=image["platform"], osVersion=image["osVersion"], state={"status": image["status"]})
    summary.update(owner=world.account_id, dateCreated=date_time(image["created"]))
    summary["outputResources"] = copy.deepcopy(image.get("outputResources") or output_resources(world, arn, image))
    if image.get("tags"):
        summary["tags"] = dict(image["tags"])
    summary.update(buildType=image["buildType"], imageSource=image["imageSource"])
    if "deprecationTime" in image:
        summary["deprecationTime"] = image["deprecationTime"]
    # "the last runtime instance of the lifecycle policy to take action on the image": a policy's, never an update's.
    policy_runs = [e.execution_id for e in world.by_image.get(arn, []) if e.policy_arn is not None]
    execution_id = image.get("lifecycleExecutionId") or next(iter(policy_runs), None)
    if execution_id is not None:
        summary["lifecycleExecutionId"] = execution_id
    return summary


def output_resources(world, arn, image):
    """What the build produced, from the image's scenario resources: its AMIs, or its container images."""
    name, version, build = image_parts(arn)
    if image["type"] == "DOCKER":
        containers = [
            {"region": item.get("region", world.region), "imageUris": list(item["imageUris"])}
            for item in image["resources"]
            if item.get("imageUris")
        ]
        return {"containers": containers}
    amis = [
        {
            "region": item.get("region", world.region),
            "image": item["resourceId"],
            "name": f"{name}-{version}-{build}",
            "state": {"status": image["status"]},
            "accountId": item.get("accountId", world.account_id),
        }
        for item in image["resources"]
        if str(item.get("resourceId", "")).startswith("ami-")
    ]
    return {"amis": amis}


def get_image(world, params, now):
    arn = params["imageBuildVersionArn"]
    summary = image_summary(world, arn, world.image(arn))
    summary.pop("owner")
    return {"requestId": str(uuid.uuid4()), "image": summary}


def list_image_build_versions(world, params, now):
    wanted = wanted_filters("ListImageBuildVersions", params, IMAGE_FILTERS)
    version_arn = params.get("imageVersionArn")
    summaries = []
    for arn, image in world.known_images():
        if version_arn is None or arn.rsplit("/", 1)[0] == version_arn:
            summary = image_summary(world, arn, image)
            if image_matches(summary, wanted):
                summaries.append(summary)
    summaries.sort(key=newest_first)
    scope = json.dumps({"imageVersionArn": version_arn, "filters": params.get("filters", [])}, sort_keys=True)
    page, token = world.page("ListImageBuildVersions", scope, summaries, params)
    return executions.listing({"requestId": str(uuid.uuid4()), "imageSummaryList": page}, token)


def list_images(world, params, now):
    wanted = wanted_filters("ListImages", params, IMAGE_FILTERS)
    rules.check("ListImages", params)
    by_name = params.get("byName", False)
    groups = {}
    if params.get("owner", "Self") == "Self":
        for arn, image in world.known_images():
            name, version, _build = image_parts(arn)
            groups.setdefault(name if by_name else (name, version), []).append(image_summary(world, arn, image))
    versions = (image_version(builds, by_name) for builds in groups.values())
    versions = sorted((entry for entry in versions if image_matches(entry, wanted)), key=newest_first)
    scope = {key: params[key] for key in ("owner", "filters", "byName", "includeDeprecated") if key in params}
    page, token = world.page("ListImages", json.dumps(scope, sort_keys=True), versions, params)
    return executions.listing({"requestId": str(uuid.uuid4()), "imageVersionList": page}, token)


def version_key(version):
    """X.Y.Z[/N] as numbers, so 1.10.0 sorts after 1.2.0."""
    return tuple(int(part) for part in re.split(r"[./]", version))


def newest_first(item):
    """Newest dateCreated first; equal dates by name, then version (and build) ascending: stable across calls."""
    created = datetime.fromisoformat(item["dateCreated"].replace("Z", "+00:00")).timestamp()
    return (-created, item["name"], version_key(item["version"]))


def image_matches(item, wanted):
    """name takes ``*`` wildcards at its ends; version is X.Y.Z (a build version's build number aside); others exact."""
    for name, values in wanted.items():
        if name == "name":
            if not any(name_matches(value, item["name"]) for value in values):
                return False
        elif name == "version":
            if item["version"].split("/", 1)[0] not in values:
                return False
        elif item.get(name) not in values:
            return False
    return True


def image_version(builds, by_name):
    """ListImages' ImageVersion of one image version's build summaries (one image name's, with byName).

    The version's dateCreated is its first build's; type, platform, osVersion and how it was built: the newest
    build's. With byName the entry stands for every version: ARN ``.../x.x.x``, version the highest one.
    """
    newest = max(builds, key=lambda summary: version_key(summary["version"]))
    first = min(builds, key=lambda summary: (summary["dateCreated"], version_key(summary["version"])))
    version = newest["version"].split("/", 1)[0]
    base = newest["arn"].rsplit("/", 2)[0]
    entry = {
        "arn": f"{base}/x.x.x" if by_name else f"{base}/{version}",
        "name": newest["name"],
        "type": newest["type"],
        "version": version,
        "platform": newest["platform"],
        "osVersion": newest["osVersion"],
        "owner": newest["owner"],
        "dateCreated": first["dateCreated"],
    }
    for key in ("buildType", "imageSource"):
        entry[key] = newest[key]
    return entry


OPERATIONS = {
    "GetImage": get_image,
    "ListImages": list_images,
    "ListImageBuildVersions": list_image_build_versions,
}
