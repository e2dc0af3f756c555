# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a lifecycle policy's rules would do to the image build versions it selects: a preview, before the policy runs.

The rule semantics are pure functions over the policy's ``policyDetails`` in the API's form (as GetLifecyclePolicy
returns them and as lifecycle_policy.desired_policy builds them) and over images described as ``image()`` below; the
gathering (ListImageBuildVersions, or ListImages where the model needs it, and EC2 DescribeImages) reads in pages, never
one call per image where a listing answers. Each rule follows a sentence of botocore's imagebuilder model, quoted
where it is applied. Where the model leaves a case open, the decision says so in ``open_questions`` rather than guess
silently, and shows the reading that acts on more resources: a preview must never promise less than the service may
do.
"""

import datetime
import re

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.imagebuilder import _call
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.imagebuilder import _paginate
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.imagebuilder import error_handler

# The order of severity, for an image that several details select (see decide()).
SEVERITY = ("DEPRECATE", "DISABLE", "DELETE")
DAYS_PER_UNIT = {"DAYS": 1, "WEEKS": 7}

OPEN_EXACT_AGE = (
    "an image exactly as old as the filter's age: the model does not say whether it is selected (it is here)"
)
OPEN_SEVERAL_DETAILS = (
    "several details select this image: the model does not say how they combine (the most severe action is shown)"
)
OPEN_IMAGE_TAGS = (
    "the image has some but not all of the exclusion tags: the model says only that images 'that have them' are"
    " skipped (not skipped here)"
)
OPEN_COUNT_EXCLUDED = (
    "an image that an exclusion rule keeps: the model does not say whether it counts among the images kept on hand"
    " (it does here)"
)


def image(arn, date_created, tags=None, amis=None, containers=None, snapshots=None):
    """An image build version as the preview sees it: ``amis`` are dicts with ``region``, ``image``, ``public``,
    ``shared_accounts``, ``last_launched`` (datetime or None) and ``tags``."""
    return {
        "arn": arn,
        "date_created": date_created,
        "tags": dict(tags or {}),
        "amis": list(amis or []),
        "containers": list(containers or []),
        "snapshots": list(snapshots or []),
    }


def _months_before(when, months):
    """The same day and time ``months`` calendar months earlier, on the month's last day when it is shorter."""
    month_index = when.year * 12 + when.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    next_month = datetime.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - datetime.timedelta(days=1)).day
    return when.replace(year=year, month=month, day=min(when.day, last_day))


def age_threshold(now, value, unit):
    """The creation time that an image must be older than to be ``value`` ``unit`` old at ``now``.

    LifecyclePolicyDetailFilter.unit: "Defines the unit of time that the lifecycle policy uses to determine impacted
    resources." Days and weeks are fixed lengths; months and years are calendar months and years.
    """
    if unit in DAYS_PER_UNIT:
        return now - datetime.timedelta(days=value * DAYS_PER_UNIT[unit])
    if unit == "MONTHS":
        return _months_before(now, value)
    if unit == "YEARS":
        return _months_before(now, 12 * value)
    raise ValueError(f"unit: {unit!r} is not one of DAYS, WEEKS, MONTHS, YEARS")


def _tags_match(rule_tags, tags):
    """LifecyclePolicyDetailExclusionRulesAmis.tagMap: "Lifecycle actions don't apply to AMIs that have any of these
    tags. Both the key and the value must match." """
    return any(tags.get(key) == value for key, value in rule_tags.items())


def ami_exclusion(rules, ami, now):
    """Why an AMI is kept by the detail's ``exclusionRules.amis``, or None when the action reaches it."""
    rules = rules or {}
    # isPublic: "Configures whether public AMIs are excluded from the lifecycle action."
    if rules.get("isPublic") and ami.get("public"):
        return "public AMI (exclusion_rules.amis.is_public)"
    # regions: "Configures Amazon Web Services Regions that are excluded from the lifecycle action."
    if ami.get("region") in (rules.get("regions") or ()):
        return f"in region {ami['region']} (exclusion_rules.amis.regions)"
    # sharedAccounts: "The lifecycle action doesn't apply to AMIs that are shared with any of the specified
    # Amazon Web Services accounts."
    shared = sorted(set(rules.get("sharedAccounts") or ()) & set(ami.get("shared_accounts") or ()))
    if shared:
        return f"shared with {', '.join(shared)} (exclusion_rules.amis.shared_accounts)"
    # lastLaunched: "exclude AMIs that were launched within the specified time period from lifecycle actions. AMIs
    # with no recorded last-launched time aren't excluded by this rule."
    launched = rules.get("lastLaunched")
    if launched and ami.get("last_launched") is not None:
        since = age_threshold(now, launched["value"], launched["unit"])
        if ami["last_launched"] >= since:
            return (
                f"launched {ami['last_launched'].isoformat()}, within {launched['value']} {launched['unit'].lower()}"
                " (exclusion_rules.amis.last_launched)"
            )
    if rules.get("tagMap") and _tags_match(rules["tagMap"], ami.get("tags") or {}):
        return "has an excluded tag (exclusion_rules.amis.tag_map)"
    return None


def _image_exclusion(rules, img):
    """Why the image resource is kept by ``exclusionRules.tagMap`` (and any open question), or (None, None).

    LifecyclePolicyDetailExclusionRules.tagMap: "Contains a list of tags that Image Builder uses to skip lifecycle
    actions for Image Builder image resources that have them."
    """
    rule_tags = (rules or {}).get("tagMap") or {}
    matched = [key for key, value in rule_tags.items() if img["tags"].get(key) == value]
    if not matched:
        return None, None
    if len(matched) < len(rule_tags):
        return None, OPEN_IMAGE_TAGS
    return f"has the excluded tag(s) {', '.join(sorted(matched))} (exclusion_rules.tag_map)", None


def evaluate_detail(n, detail, images, now):
    """For each image (newest first), what policy detail ``n`` decides: a dict by image ARN with ``selected``,
    ``reason`` and ``open_questions``. ``images`` are the resources one count applies to."""
    flt, rules = detail["filter"], detail.get("exclusionRules") or {}
    ordered = sorted(images, key=lambda img: img["date_created"], reverse=True)
    decisions = {}
    kept_on_hand = 0
    for img in ordered:
        questions = []
        excluded, question = _image_exclusion(rules, img)
        if question:
            questions.append(question)
        position = kept_on_hand
        kept_on_hand += 1
        if excluded and (flt["type"] == "COUNT" or flt.get("retainAtLeast")):
            questions.append(OPEN_COUNT_EXCLUDED)
        if flt["type"] == "COUNT":
            # value: "For count-based filters, this value represents the minimum number of resources to keep on
            # hand. If you have fewer resources than this number, the resource is excluded from lifecycle actions."
            if position < flt["value"]:
                selected, reason = False, f"among the newest {flt['value']} kept on hand (position {position + 1})"
            else:
                selected, reason = True, f"position {position + 1}, beyond the newest {flt['value']} kept on hand"
        else:
            threshold = age_threshold(now, flt["value"], flt["unit"])
            age = f"{flt['value']} {flt['unit'].lower()}"
            if img["date_created"] == threshold:
                questions.append(OPEN_EXACT_AGE)
            if img["date_created"] > threshold:
                selected, reason = False, f"created {img['date_created'].isoformat()}, not older than {age}"
            # retainAtLeast: "the number of resources to keep on hand after the lifecycle DELETE action is applied.
            # Impacted resources are only deleted if you have more than this number of resources."
            elif flt.get("retainAtLeast") and position < flt["retainAtLeast"]:
                selected = False
                reason = f"older than {age}, but among the newest {flt['retainAtLeast']} retained (retain_at_least)"
            else:
                selected, reason = True, f"created {img['date_created'].isoformat()}, {age} old or older"
        if selected and excluded:
            selected, reason = False, excluded
        decisions[img["arn"]] = {"detail": n, "selected": selected, "reason": reason, "open_questions": questions}
    return decisions


def _resources(detail, img, now):
    """What the detail's action reaches besides the image resource: AMIs (and the AMIs an exclusion keeps),
    snapshots and containers, as LifecyclePolicyDetailActionIncludeResources names them."""
    include = detail["action"].get("includeResources") or {}
    rules = (detail.get("exclusionRules") or {}).get("amis")
    reached = {"amis": [], "kept_amis": [], "snapshots": [], "containers": []}
    if include.get("amis"):
        for ami in img["amis"]:
            why = ami_exclusion(rules, ami, now)
            if why:
                reached["kept_amis"].append({"image": ami["image"], "region": ami["region"], "reason": why})
            else:
                reached["amis"].append({"image": ami["image"], "region": ami["region"]})
    # includeResources: "you can only include snapshots together with AMIs"; DELETE rules alone include them.
    if include.get("snapshots") and include.get("amis"):
        kept = {ami["image"] for ami in reached["kept_amis"]}
        reached["snapshots"] = [snap for snap in img["snapshots"] if snap.get("ami") not in kept]
    if include.get("containers"):
        reached["containers"] = list(img["containers"])
    return reached


def decide(details, images, now):
    """Every image's action under the policy's details: a list, newest first, of dicts with ``arn``, ``action``
    (DEPRECATE, DISABLE, DELETE or None), ``decided_by`` (the detail's index), ``reason``, ``reasons`` (each
    detail's), ``resources`` and ``open_questions``."""
    per_detail = [evaluate_detail(n, detail, images, now) for n, detail in enumerate(details)]
    result = []
    for img in sorted(images, key=lambda img: img["date_created"], reverse=True):
        decisions = [decisions[img["arn"]] for decisions in per_detail]
        questions = sorted({q for d in decisions for q in d["open_questions"]})
        selecting = [d for d in decisions if d["selected"]]
        entry = {"arn": img["arn"], "date_created": img["date_created"], "action": None, "decided_by": None}
        entry["resources"] = None
        if selecting:
            if len(selecting) > 1:
                questions.append(OPEN_SEVERAL_DETAILS)
            chosen = max(selecting, key=lambda d: SEVERITY.index(details[d["detail"]]["action"]["type"]))
            detail = details[chosen["detail"]]
            entry.update(
                action=detail["action"]["type"],
                decided_by=chosen["detail"],
                reason=chosen["reason"],
                resources=_resources(detail, img, now),
            )
        else:
            entry["reason"] = "; ".join(f"policy_details[{d['detail']}]: {d['reason']}" for d in decisions)
        entry["reasons"] = [
            {"detail": d["detail"], "selected": d["selected"], "reason": d["reason"]} for d in decisions
        ]
        entry["open_questions"] = questions
        result.append(entry)
    return result


def summary(decisions):
    """Counts per action, None as ``none``."""
    counts = {"DEPRECATE": 0, "DISABLE": 0, "DELETE": 0, "none": 0}
    for entry in decisions:
        counts[entry["action"] or "none"] += 1
    return counts


# --- gathering: what the policy's resourceSelection selects ----------------------------------------------------------

# LifecyclePolicy.resourceType to the ImageType that ListImageBuildVersions' ``type`` filter takes.
IMAGE_TYPES = {"AMI_IMAGE": "AMI", "CONTAINER_IMAGE": "DOCKER"}
OPEN_SELECTION_TAGS = (
    "the image has some but not all of the selection tags: the model says only that they 'are used as selection"
    " criteria' (selected here)"
)


def version_matches(semantic_version, version):
    """LifecyclePolicyResourceSelectionRecipe.semanticVersion, a WildcardVersionNumber: ``x`` stands for any part.

    ``version`` is ImageSummary's, a VersionNumberWithBuild (``1.0.0/3``): the build number is not compared.
    """
    wanted, got = semantic_version.split("."), version.split("/", 1)[0].split(".")
    return len(wanted) == len(got) == 3 and all(part in ("x", have) for part, have in zip(wanted, got))


def _filters(image_type, name):
    filters = [{"name": "type", "values": [image_type]}]
    if name is not None:
        filters.append({"name": "name", "values": [name]})
    return filters


def _one_listing_for_all(client):
    """Whether ListImageBuildVersions may be asked without imageVersionArn (botocore 1.35.0's model requires it)."""
    shape = client.meta.service_model.operation_model("ListImageBuildVersions").input_shape
    return "imageVersionArn" not in shape.required_members


@error_handler("list the {image_type} image build versions")
def list_image_build_versions(client, image_type, name=None):
    """Every build version of the account's images of one type (of one name, when given), largest pages.

    ListImageBuildVersions.imageVersionArn: "If you don't specify it, Image Builder returns build versions for all of
    the images in your account", so a whole selection takes pages, not one call per image version. Where the
    installed model still requires it, ListImages names the versions and each is listed in turn.
    """
    if _one_listing_for_all(client):
        return _paginate(
            client,
            client.list_image_build_versions,
            "ListImageBuildVersions",
            "imageSummaryList",
            filters=_filters(image_type, name),
        )
    summaries = []
    versions = _paginate(
        client, client.list_images, "ListImages", "imageVersionList", filters=_filters(image_type, name)
    )
    for version in versions:
        summaries += _paginate(
            client,
            client.list_image_build_versions,
            "ListImageBuildVersions",
            "imageSummaryList",
            imageVersionArn=version["arn"],
        )
    return summaries


def selected_summaries(client, selection, resource_type):
    """The image build versions (ImageSummary) the resourceSelection selects, each once, with any open question.

    LifecyclePolicyResourceSelection: "You must provide exactly one selection criteria: either recipes or a tag map".
    """
    image_type = IMAGE_TYPES[resource_type]
    selected, questions = {}, set()
    if selection.get("recipes"):
        versions = {}
        for recipe in selection["recipes"]:
            versions.setdefault(recipe["name"], []).append(recipe["semanticVersion"])
        for name, wanted in versions.items():
            for summary in list_image_build_versions(client, image_type, name):
                if summary.get("name") == name and any(version_matches(w, summary["version"]) for w in wanted):
                    selected.setdefault(summary["arn"], summary)
    else:
        tag_map = selection.get("tagMap") or {}
        for summary in list_image_build_versions(client, image_type):
            tags = summary.get("tags") or {}
            matched = sum(tags.get(key) == value for key, value in tag_map.items())
            if matched:
                selected.setdefault(summary["arn"], summary)
                if matched < len(tag_map):
                    questions.add(OPEN_SELECTION_TAGS)
    return list(selected.values()), sorted(questions)


def parse_time(value):
    """An API time (botocore gives a DateTime string in ImageSummary, a datetime elsewhere) as an aware datetime."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    text = re.sub(r"Z$", "+00:00", value.strip())
    parsed = datetime.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def preview_image(summary, ami_details=None):
    """image() from an ImageSummary, with what EC2 DescribeImages says of each AMI (``ami_details`` by AMI ID:
    ``public``, ``shared_accounts``, ``last_launched``, ``tags``, ``snapshots``)."""
    ami_details = ami_details or {}
    resources = summary.get("outputResources") or {}
    amis, snapshots = [], []
    for ami in resources.get("amis") or []:
        details = ami_details.get(ami["image"], {})
        amis.append(
            {
                "region": ami["region"],
                "image": ami["image"],
                "public": details.get("public"),
                "shared_accounts": details.get("shared_accounts") or [],
                "last_launched": details.get("last_launched"),
                "tags": details.get("tags") or {},
            }
        )
        snapshots += [{"ami": ami["image"], "snapshot": snap} for snap in details.get("snapshots") or []]
    containers = [
        {"region": container["region"], "image_uris": list(container.get("imageUris") or [])}
        for container in resources.get("containers") or []
    ]
    return image(summary["arn"], parse_time(summary["dateCreated"]), summary.get("tags"), amis, containers, snapshots)


# --- EC2: what the AMI exclusion rules read ------------------------------------------------------------------------

# AMI IDs per DescribeImages request (its image-id filter), so that no request grows with the selection. botocore's
# ec2 model states no limit on filter values, nor a maximum MaxResults: EC2's own page size is left to it.
AMI_BATCH = 200


def _describe_images(ec2, **params):
    """Every page of one DescribeImages request (EC2 pages with NextToken), each page retried on its own."""
    images = []
    while True:
        page = _call(ec2.describe_images, "DescribeImages", "Images", **params)
        images.extend(page["Images"])
        if not page.get("NextToken"):
            return images
        params["NextToken"] = page["NextToken"]


@error_handler("describe the AMIs of the selected images in {region}")
def describe_amis(ec2, region, image_ids, shared_accounts=()):
    """What EC2 says of this account's AMIs in one region, by AMI ID: ``public``, ``last_launched``, ``tags``,
    ``snapshots`` and, of ``shared_accounts`` (the exclusion rules' accounts), those each AMI is shared with.

    One DescribeImages listing per AMI_BATCH AMIs, and one more per account the rules name: ExecutableUsers "If you
    specify an Amazon Web Services account ID that is not your own, only AMIs shared with that specific Amazon Web
    Services account ID are returned" (not those shared with its organization or OU). No call per AMI.
    """
    details = {}
    ids = sorted(set(image_ids))
    # Deprecated and disabled AMIs are the ones a policy has acted on already: the owner sees them only when asked.
    scope = {"Owners": ["self"], "IncludeDeprecated": True, "IncludeDisabled": True}
    for start in range(0, len(ids), AMI_BATCH):
        batch = ids[start : start + AMI_BATCH]
        for ami in _describe_images(ec2, Filters=[{"Name": "image-id", "Values": batch}], **scope):
            details[ami["ImageId"]] = {
                "public": bool(ami.get("Public")),
                "last_launched": parse_time(ami["LastLaunchedTime"]) if ami.get("LastLaunchedTime") else None,
                "tags": {tag["Key"]: tag["Value"] for tag in ami.get("Tags") or []},
                "snapshots": [
                    mapping["Ebs"]["SnapshotId"]
                    for mapping in ami.get("BlockDeviceMappings") or []
                    if (mapping.get("Ebs") or {}).get("SnapshotId")
                ],
                "shared_accounts": [],
            }
        for account in sorted(set(shared_accounts)):
            filters = [{"Name": "image-id", "Values": batch}]
            for ami in _describe_images(ec2, Filters=filters, ExecutableUsers=[account], **scope):
                if ami["ImageId"] in details:
                    details[ami["ImageId"]]["shared_accounts"].append(account)
    return details


# --- the whole preview -----------------------------------------------------------------------------------------------

OPEN_COUNT_GROUP = (
    "the selection holds images of several names: the model does not say whether count and retain_at_least apply per"
    " name or to the whole selection (the whole selection here)"
)


def _reads_ec2(details):
    """Whether any detail needs what only EC2 knows: snapshot IDs, or an AMI exclusion rule."""
    for detail in details:
        include = detail["action"].get("includeResources") or {}
        if include.get("snapshots") or (detail.get("exclusionRules") or {}).get("amis"):
            return True
    return False


def preview_policy(client, ec2_for_region, policy, now):
    """What the policy (its resourceType, resourceSelection and policyDetails, in the API's form) would do at
    ``now``: ``images`` (decide()'s entries), ``summary`` and the ``open_questions`` of the whole preview.

    ``ec2_for_region(region)`` gives an EC2 client; it is asked only for the regions the selected AMIs are in, and
    only when a detail needs EC2's answers.
    """
    details = policy["policyDetails"]
    summaries, questions = selected_summaries(client, policy["resourceSelection"], policy["resourceType"])
    ami_details = {}
    if policy["resourceType"] == "AMI_IMAGE" and _reads_ec2(details):
        by_region = {}
        for summary_ in summaries:
            for ami in (summary_.get("outputResources") or {}).get("amis") or []:
                by_region.setdefault(ami["region"], []).append(ami["image"])
        accounts = sorted(
            {
                account
                for detail in details
                for account in ((detail.get("exclusionRules") or {}).get("amis") or {}).get("sharedAccounts") or []
            }
        )
        for region in sorted(by_region):
            ami_details.update(describe_amis(ec2_for_region(region), region, by_region[region], accounts))
    images = [preview_image(summary_, ami_details) for summary_ in summaries]
    counted = any(d["filter"]["type"] == "COUNT" or d["filter"].get("retainAtLeast") for d in details)
    if counted and len({s.get("name") for s in summaries}) > 1:
        questions.append(OPEN_COUNT_GROUP)
    decisions = decide(details, images, now)
    questions = sorted(set(questions) | {q for entry in decisions for q in entry["open_questions"]})
    return {"images": decisions, "summary": summary(decisions), "open_questions": questions}


# --- the preview as the modules return it ---------------------------------------------------------------------------


def _ami_resource(ami, action, snapshots):
    resource = {"resource_id": ami["image"], "region": ami["region"], "action": {"name": action}}
    if snapshots is not None:
        resource["snapshots"] = [{"snapshot_id": snap} for snap in snapshots]
    return resource


def _child_resources(action, resources, include_snapshots):
    """The AMIs (their snapshots nested, as an execution's AMI resources hold theirs) and containers an action
    reaches, keyed as the execution_info module keys an execution's child resources."""
    snapshots = {}
    for snap in resources["snapshots"]:
        snapshots.setdefault(snap["ami"], []).append(snap["snapshot"])
    children = [
        _ami_resource(ami, action, snapshots.get(ami["image"], []) if include_snapshots else None)
        for ami in resources["amis"]
    ]
    for container in resources["containers"]:
        uris = container["image_uris"]
        children.append(
            {
                "resource_id": uris[0] if uris else None,
                "region": container["region"],
                "image_uris": list(uris),
                "action": {"name": action},
            }
        )
    return children


def as_resources(policy_details, decisions):
    """decide()'s entries as (acted_on, kept): the images an action reaches, with the tree of resources that an
    execution of the policy would list as its impacted resources, and the images left as they are, with why."""
    acted_on, kept = [], []
    for entry in decisions:
        reasons = [
            {"policy_detail": r["detail"], "selected": r["selected"], "reason": r["reason"]} for r in entry["reasons"]
        ]
        resource = {
            "resource_id": entry["arn"],
            "date_created": entry["date_created"].isoformat(),
            "reasons": reasons,
            "open_questions": entry["open_questions"],
        }
        if entry["action"] is None:
            kept.append(dict(resource, reason=entry["reason"]))
            continue
        detail = policy_details[entry["decided_by"]]
        include = detail["action"].get("includeResources") or {}
        resources = entry["resources"]
        resource.update(
            action={"name": entry["action"], "reason": f"policy_details[{entry['decided_by']}]: {entry['reason']}"},
            policy_detail=entry["decided_by"],
            child_resources=_child_resources(entry["action"], resources, bool(include.get("snapshots"))),
            excluded_resources=[
                {"resource_id": ami["image"], "region": ami["region"], "reason": ami["reason"]}
                for ami in resources["kept_amis"]
            ],
        )
        acted_on.append(resource)
    return acted_on, kept


def describe_preview(client, ec2_for_region, policy, now):
    """What the preview module returns for a policy in the API's form: which policy, the images it would act on
    (``resources``) and those it would keep (``kept``), counts per action, and the cases the model leaves open."""
    result = preview_policy(client, ec2_for_region, policy, now)
    acted_on, kept = as_resources(policy["policyDetails"], result["images"])
    return {
        "lifecycle_policy": {
            "arn": policy.get("arn"),
            "name": policy.get("name"),
            "status": policy.get("status"),
            "resource_type": policy.get("resourceType"),
        },
        "previewed_at": now.isoformat(),
        "resources": acted_on,
        "kept": kept,
        "summary": {action.lower(): count for action, count in result["summary"].items()},
        "open_questions": result["open_questions"],
    }
