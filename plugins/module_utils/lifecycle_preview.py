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

# The user guide's "How lifecycle policy execution works" (lifecycle-policy-execution), cited as "the guide" below:
# "Image Builder evaluates rules in priority order: deprecate, then disable, then delete. Only one action applies to
# each image per execution."
PRIORITY = ("DEPRECATE", "DISABLE", "DELETE")
# The image states each rule skips. The guide's rules page: "Deprecate rule - Image Builder skips images that are
# already deprecated, disabled, failed, or canceled. Disable rule - Image Builder skips images that are already
# disabled, failed, or canceled. Delete rule - Image Builder evaluates images in any state".
SKIPPED_STATES = {
    "DEPRECATE": ("DEPRECATED", "DISABLED", "FAILED", "CANCELLED"),
    "DISABLE": ("DISABLED", "FAILED", "CANCELLED"),
    "DELETE": (),
}
# "Failed or canceled Image Builder images do not count toward retention limits and always qualify for deletion."
NO_RETENTION_SLOT = ("FAILED", "CANCELLED")
# The guide: images with a build in progress are skipped and evaluated in a later run; a deleted one is gone.
IN_BUILD = ("PENDING", "CREATING", "BUILDING", "TESTING", "DISTRIBUTING", "INTEGRATING")
DAYS_PER_UNIT = {"DAYS": 1, "WEEKS": 7}
# What a month or a year is, if not a calendar one.
FIXED_DAYS = {"MONTHS": 30, "YEARS": 365}

OPEN_EXACT_AGE = (
    "an image exactly as old as the filter's age: the model and the guide say 'older than' the threshold, not whether"
    " the threshold itself is (it is here)"
)
OPEN_MONTH_LENGTH = (
    "an age in months or years: neither the model nor the guide says whether a month is a calendar month or 30 days"
    " (a year 365 days); the reading that acts on more is shown"
)
OPEN_RETAINED_SKIPPED = (
    "an image the rule does not evaluate (still being built, or already in a state the rule skips) among the newest"
    " of its recipe version: neither the model nor the guide says whether it takes a retention slot (it takes one"
    " here)"
)
OPEN_AMI_UNKNOWN = (
    "an AMI that EC2 DescribeImages did not return for this account (deregistered, or owned by another account):"
    " what its exclusion rules and snapshots would say is unknown (the action is shown reaching it)"
)
OPEN_UNDATED = (
    "an image build version that ListImageBuildVersions gave without a creation date: it is not evaluated (the"
    " service may act on it)"
)
OPEN_RETAINED_EXCLUDED = (
    "an image with an exclusion tag among the newest of its recipe version: the guide says both that 'retention is"
    " evaluated before tag exclusion' and that 'a tag-excluded image does not consume a retention slot' (it takes one"
    " here)"
)


def version_group(arn):
    """The recipe version an image build version belongs to (``name/1.0.0``): the guide's rules page, "The COUNT
    filter counts Image Builder image resources per recipe version", and retainAtLeast keeps "the newest images per
    recipe version, regardless of age"."""
    return arn.split(":image/", 1)[-1].rsplit("/", 1)[0]


def image(arn, date_created, tags=None, amis=None, containers=None, snapshots=None, status="AVAILABLE"):
    """An image build version as the preview sees it: ``amis`` are dicts with ``region``, ``image``, ``public``,
    ``shared_accounts``, ``last_launched`` (datetime or None) and ``tags``; ``status`` is its ImageStatus."""
    return {
        "arn": arn,
        "date_created": date_created,
        "status": status,
        "group": version_group(arn),
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


def age_thresholds(now, value, unit):
    """The creation times (earliest, latest) that an image must be at or before to be ``value`` ``unit`` old at
    ``now``: one time for days and weeks (fixed lengths), two for months and years, a calendar reading and a fixed one
    (30 and 365 days), since the model says only that unit "Defines the unit of time that the lifecycle policy uses
    to determine impacted resources". The preview selects by the later one (more images are older than it, fewer AMIs
    were launched since it) and says so where the two readings differ for an image (OPEN_MONTH_LENGTH)."""
    if unit in DAYS_PER_UNIT:
        threshold = now - datetime.timedelta(days=value * DAYS_PER_UNIT[unit])
        return threshold, threshold
    if unit not in FIXED_DAYS:
        raise ValueError(f"unit: {unit!r} is not one of DAYS, WEEKS, MONTHS, YEARS")
    calendar = _months_before(now, value * (12 if unit == "YEARS" else 1))
    fixed = now - datetime.timedelta(days=value * FIXED_DAYS[unit])
    return min(calendar, fixed), max(calendar, fixed)


def _tags_match(rule_tags, tags):
    """LifecyclePolicyDetailExclusionRulesAmis.tagMap: "Lifecycle actions don't apply to AMIs that have any of these
    tags. Both the key and the value must match." """
    return any(tags.get(key) == value for key, value in rule_tags.items())


def ami_exclusion(rules, ami, now):
    """Why an AMI is kept by the detail's ``exclusionRules.amis`` (None when the action reaches it), and any open
    question: the guide, "Image Builder reports an output AMI that meets any exclusion criteria as SKIPPED"."""
    rules = rules or {}
    # isPublic: "Configures whether public AMIs are excluded from the lifecycle action."
    if rules.get("isPublic") and ami.get("public"):
        return "public AMI (exclusion_rules.amis.is_public)", None
    # regions: "Configures Amazon Web Services Regions that are excluded from the lifecycle action."
    if ami.get("region") in (rules.get("regions") or ()):
        return f"in region {ami['region']} (exclusion_rules.amis.regions)", None
    # sharedAccounts: "The lifecycle action doesn't apply to AMIs that are shared with any of the specified
    # Amazon Web Services accounts."
    shared = sorted(set(rules.get("sharedAccounts") or ()) & set(ami.get("shared_accounts") or ()))
    if shared:
        return f"shared with {', '.join(shared)} (exclusion_rules.amis.shared_accounts)", None
    if rules.get("tagMap") and _tags_match(rules["tagMap"], ami.get("tags") or {}):
        return "has an excluded tag (exclusion_rules.amis.tag_map)", None
    # lastLaunched: "exclude AMIs that were launched within the specified time period from lifecycle actions. AMIs
    # with no recorded last-launched time aren't excluded by this rule."
    launched = rules.get("lastLaunched")
    if launched and ami.get("last_launched") is not None:
        earliest, latest = age_thresholds(now, launched["value"], launched["unit"])
        if ami["last_launched"] >= latest:
            return (
                f"launched {ami['last_launched'].isoformat()}, within {launched['value']} {launched['unit'].lower()}"
                " (exclusion_rules.amis.last_launched)"
            ), None
        if ami["last_launched"] >= earliest:
            return None, OPEN_MONTH_LENGTH
    return None, None


def _image_exclusion(rules, img):
    """Why the image resource is kept by ``exclusionRules.tagMap``, or None.

    LifecyclePolicyDetailExclusionRules.tagMap: "Contains a list of tags that Image Builder uses to skip lifecycle
    actions for Image Builder image resources that have them." The guide's rules page: "If an Image Builder image tag
    matches an entry (exact key and value match), Image Builder skips the image and all associated output resources."
    """
    rule_tags = (rules or {}).get("tagMap") or {}
    matched = sorted(key for key, value in rule_tags.items() if img["tags"].get(key) == value)
    if matched:
        return f"has the excluded tag(s) {', '.join(matched)} (exclusion_rules.tag_map)"
    return None


def _filter_decision(flt, img, position, now):
    """(selected, reason, questions) of the detail's filter for an image that holds retention slot ``position``."""
    if flt["type"] == "COUNT":
        # value: "For count-based filters, this value represents the minimum number of resources to keep on
        # hand. If you have fewer resources than this number, the resource is excluded from lifecycle actions."
        if position < flt["value"]:
            return False, f"among the newest {flt['value']} of {img['group']} kept on hand (#{position + 1})", []
        return True, f"#{position + 1} of {img['group']}, beyond the newest {flt['value']} kept on hand", []
    questions = []
    earliest, latest = age_thresholds(now, flt["value"], flt["unit"])
    age = f"{flt['value']} {flt['unit'].lower()}"
    if img["date_created"] == latest:
        questions.append(OPEN_EXACT_AGE)
    if img["date_created"] > latest:
        return False, f"created {img['date_created'].isoformat()}, not older than {age}", questions
    if img["date_created"] > earliest:
        questions.append(OPEN_MONTH_LENGTH)
    # retainAtLeast: "the number of resources to keep on hand after the lifecycle DELETE action is applied.
    # Impacted resources are only deleted if you have more than this number of resources."
    if flt.get("retainAtLeast") and position < flt["retainAtLeast"]:
        reason = f"older than {age}, but among the newest {flt['retainAtLeast']} of {img['group']} (retain_at_least)"
        return False, reason, questions
    return True, f"created {img['date_created'].isoformat()}, {age} old or older", questions


def evaluate_detail(n, detail, images, now):
    """What policy detail ``n`` decides for each image: a dict by image ARN with ``selected``, ``reason`` and
    ``open_questions``.

    The guide: "Image Builder evaluates image resources from newest to oldest (by creation date)", "the newest images
    fill retention slots first", per recipe version (version_group); "Images in a failed or canceled state qualify
    for deletion and do not consume a retention slot."
    """
    action, flt, rules = detail["action"]["type"], detail["filter"], detail.get("exclusionRules") or {}
    limit = flt["value"] if flt["type"] == "COUNT" else flt.get("retainAtLeast") or 0
    slots = {}
    decisions = {}
    for img in sorted(images, key=lambda img: img["date_created"], reverse=True):
        questions = []
        status = img["status"]
        excluded = _image_exclusion(rules, img)
        position = slots.get(img["group"], 0)
        within = position < limit
        if status == "DELETED":
            selected, reason = False, "deleted already"
        elif status in IN_BUILD or (status in SKIPPED_STATES[action] and status not in NO_RETENTION_SLOT):
            if status in IN_BUILD:
                selected, reason = False, f"{status.lower()}: not evaluated until its build is done"
            else:
                selected, reason = False, f"already {status.lower()}: a {action.lower()} rule skips it"
            if within:
                questions.append(OPEN_RETAINED_SKIPPED)
                slots[img["group"]] = position + 1
        elif status in NO_RETENTION_SLOT:
            if action == "DELETE":
                selected, reason = not excluded, excluded or f"{status.lower()}: always qualifies for deletion"
            else:
                selected, reason = False, f"already {status.lower()}: a {action.lower()} rule skips it"
        else:
            if excluded and within:
                questions.append(OPEN_RETAINED_EXCLUDED)
            slots[img["group"]] = position + 1
            selected, reason, more = _filter_decision(flt, img, position, now)
            questions += more
            if selected and excluded:
                selected, reason = False, excluded
        decisions[img["arn"]] = {"detail": n, "selected": selected, "reason": reason, "open_questions": questions}
    return decisions


def _resources(detail, img, now):
    """What the detail's action reaches besides the image resource, and any open question: AMIs (and the AMIs an
    exclusion keeps), snapshots and containers, as LifecyclePolicyDetailActionIncludeResources names them.

    The guide's rules page: "Image Builder makes lifecycle action decisions at the image level. Associated output
    resources (AMIs, snapshots, containers) change only if you configured the rule to include them", and AMI exclusion
    rules "apply to the Amazon EC2 AMI resource, not the Image Builder image resource".
    """
    include = detail["action"].get("includeResources") or {}
    rules = (detail.get("exclusionRules") or {}).get("amis")
    reached = {"amis": [], "kept_amis": [], "snapshots": [], "containers": []}
    questions = []
    if include.get("amis"):
        for ami in img["amis"]:
            why, question = ami_exclusion(rules, ami, now)
            if question:
                questions.append(question)
            if ami.get("described") is False and (rules or include.get("snapshots")):
                questions.append(OPEN_AMI_UNKNOWN)
            where = {"image": ami["image"], "region": ami["region"], "account_id": ami.get("account_id")}
            if why:
                reached["kept_amis"].append(dict(where, reason=why))
            else:
                reached["amis"].append(where)
    # includeResources: "you can only include snapshots together with AMIs"; DELETE rules alone include them.
    if include.get("snapshots") and include.get("amis"):
        kept = {ami["image"] for ami in reached["kept_amis"]}
        reached["snapshots"] = [snap for snap in img["snapshots"] if snap.get("ami") not in kept]
    if include.get("containers"):
        reached["containers"] = list(img["containers"])
    return reached, questions


def decide(details, images, now):
    """Every image's action under the policy's details: a list, newest first, of dicts with ``arn``, ``action``
    (DEPRECATE, DISABLE, DELETE or None), ``decided_by`` (the detail's index), ``reason``, ``reasons`` (each
    detail's), ``resources`` and ``open_questions``.

    The guide: "Image Builder evaluates rules in priority order: deprecate, then disable, then delete. Only one
    action applies to each image per execution. If an image matches a deprecate rule, Image Builder skips the disable
    and delete rules for that image during the same run."
    """
    per_detail = [evaluate_detail(n, detail, images, now) for n, detail in enumerate(details)]
    by_priority = sorted(range(len(details)), key=lambda n: PRIORITY.index(details[n]["action"]["type"]))
    result = []
    for img in sorted(images, key=lambda img: img["date_created"], reverse=True):
        decisions = [decisions[img["arn"]] for decisions in per_detail]
        questions = {q for d in decisions for q in d["open_questions"]}
        chosen = next((decisions[n] for n in by_priority if decisions[n]["selected"]), None)
        entry = {"arn": img["arn"], "date_created": img["date_created"], "tags": img["tags"], "action": None}
        entry.update(decided_by=None, resources=None)
        reasons = []
        for d in decisions:
            reason = d["reason"]
            if d["selected"] and d is not chosen:
                first = details[chosen["detail"]]["action"]["type"].lower()
                reason += f" (the {first} rule acts first: one action per image per run)"
            reasons.append({"detail": d["detail"], "selected": d["selected"], "reason": reason})
        if chosen is not None:
            detail = details[chosen["detail"]]
            resources, more = _resources(detail, img, now)
            questions.update(more)
            entry.update(
                action=detail["action"]["type"],
                decided_by=chosen["detail"],
                reason=chosen["reason"],
                resources=resources,
            )
        else:
            entry["reason"] = "; ".join(f"policy_details[{d['detail']}]: {d['reason']}" for d in decisions)
        entry["reasons"] = reasons
        entry["open_questions"] = sorted(questions)
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
    """The image build versions (ImageSummary) the resourceSelection selects, each once.

    LifecyclePolicyResourceSelection: "You must provide exactly one selection criteria: either recipes or a tag map".
    """
    image_type = IMAGE_TYPES[resource_type]
    selected = {}
    if selection.get("recipes"):
        versions = {}
        for recipe in selection["recipes"]:
            versions.setdefault(recipe["name"], []).append(recipe["semanticVersion"])
        for name, wanted in versions.items():
            for summary in list_image_build_versions(client, image_type, name):
                if summary.get("name") == name and any(version_matches(w, summary["version"]) for w in wanted):
                    selected.setdefault(summary["arn"], summary)
    else:
        # The guide's rules page: "The policy selects Image Builder images matching any specified tag key-value pair
        # (OR logic)."
        tag_map = selection.get("tagMap") or {}
        for summary in list_image_build_versions(client, image_type):
            tags = summary.get("tags") or {}
            if any(tags.get(key) == value for key, value in tag_map.items()):
                selected.setdefault(summary["arn"], summary)
    return list(selected.values())


def parse_time(value):
    """An API time (botocore gives a DateTime string in ImageSummary, a datetime elsewhere) as an aware datetime."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    text = re.sub(r"Z$", "+00:00", value.strip())
    parsed = datetime.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def preview_image(summary, ami_details=None):
    """image() from an ImageSummary, with what EC2 DescribeImages says of each AMI (``ami_details`` by AMI ID:
    ``public``, ``shared_accounts``, ``last_launched``, ``tags``, ``snapshots``; None when EC2 was not asked, and
    then ``described`` is None rather than False)."""
    resources = summary.get("outputResources") or {}
    amis, snapshots = [], []
    for ami in resources.get("amis") or []:
        details = (ami_details or {}).get(ami["image"], {})
        amis.append(
            {
                "region": ami["region"],
                "image": ami["image"],
                "account_id": ami.get("accountId"),
                "described": None if ami_details is None else ami["image"] in ami_details,
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
    status = (summary.get("state") or {}).get("status") or "AVAILABLE"
    return image(
        summary["arn"], parse_time(summary["dateCreated"]), summary.get("tags"), amis, containers, snapshots, status
    )


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


def _reads_ec2(details):
    """Whether any detail needs what only EC2 knows: snapshot IDs, or an AMI exclusion rule."""
    for detail in details:
        include = detail["action"].get("includeResources") or {}
        # Without amis the action reaches no AMI: neither its exclusion rules nor its snapshots matter.
        if include.get("amis") and (include.get("snapshots") or (detail.get("exclusionRules") or {}).get("amis")):
            return True
    return False


def preview_policy(client, ec2_for_region, policy, now):
    """What the policy (its resourceType, resourceSelection and policyDetails, in the API's form) would do at
    ``now``: ``images`` (decide()'s entries), ``summary`` and the ``open_questions`` of the whole preview.

    ``ec2_for_region(region)`` gives an EC2 client; it is asked only for the regions the selected AMIs are in, and
    only when a detail needs EC2's answers.
    """
    details = policy["policyDetails"]
    selected = selected_summaries(client, policy["resourceSelection"], policy["resourceType"])
    # No member of ImageSummary is required in the model: one without a creation date cannot be placed by age.
    summaries = [summary_ for summary_ in selected if summary_.get("dateCreated")]
    questions = {OPEN_UNDATED} if len(summaries) < len(selected) else set()
    ami_details = None
    if policy["resourceType"] == "AMI_IMAGE" and _reads_ec2(details):
        ami_details = {}
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
    decisions = decide(details, images, now)
    questions = sorted(questions | {q for entry in decisions for q in entry["open_questions"]})
    return {"images": decisions, "summary": summary(decisions), "open_questions": questions}


# --- the preview as the modules return it ---------------------------------------------------------------------------


def _ami_resource(ami, action, snapshots):
    resource = {"resource_id": ami["image"], "region": ami["region"], "action": {"name": action}}
    if ami.get("account_id"):
        resource["account_id"] = ami["account_id"]
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
            "tags": dict(entry["tags"]),
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
                dict(
                    {"resource_id": ami["image"], "region": ami["region"], "reason": ami["reason"]},
                    **({"account_id": ami["account_id"]} if ami.get("account_id") else {}),
                )
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
