# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a lifecycle policy's rules would do to the image build versions it selects: a preview, before the policy runs.

The rule semantics are pure functions over the policy's ``policyDetails`` in the API's form (as GetLifecyclePolicy
returns them and as lifecycle_policy.desired_policy builds them) and over images described as ``image()`` below; the
gathering (ListImageBuildVersions, or ListImages where the model needs it, and EC2 DescribeImages) reads in pages, never
one call per image where a listing answers. Each rule follows a sentence of botocore's imagebuilder model or of the
user guide, quoted where it is applied. Where they leave a case open (lifecycle_open_cases.OPEN_CASES), the preview
shows the reading that acts on more resources, so that it never promises less than the service may do, and each image
or AMI whose outcome another reading would change carries the case in ``open_questions``.
"""

import datetime
import functools
import re

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import api_filters
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import error_handler
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils._common import paginate
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_open_cases import OTHER_READINGS
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_open_cases import SHOWN
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_open_cases import listed
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_policy import RULE_ORDER
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_policy import find_lifecycle_policy
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_policy import get_lifecycle_policy
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_policy import name_conflict_errors

# The user guide's "How lifecycle policy execution works" (lifecycle-policy-execution), cited as "the guide" below:
# "Image Builder evaluates rules in priority order: deprecate, then disable, then delete. Only one action applies to
# each image per execution."
PRIORITY = tuple(action.upper() for action in RULE_ORDER)
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


@functools.lru_cache(maxsize=64)
def _before(now, value, unit):
    """The times (calendar, fixed) ``value`` ``unit`` before ``now``: the same for days and weeks (fixed lengths);
    for months and years, calendar ones and 30 or 365 days (the case ``month_length``)."""
    if unit in DAYS_PER_UNIT:
        threshold = now - datetime.timedelta(days=value * DAYS_PER_UNIT[unit])
        return threshold, threshold
    if unit not in FIXED_DAYS:
        raise ValueError(f"unit: {unit!r} is not one of DAYS, WEEKS, MONTHS, YEARS")
    calendar = _months_before(now, value * (12 if unit == "YEARS" else 1))
    return calendar, now - datetime.timedelta(days=value * FIXED_DAYS[unit])


def time_before(now, value, unit, readings):
    """``value`` ``unit`` before ``now`` under the reading of ``month_length``: the later of the two ("shorter",
    which selects more images by age and keeps fewer AMIs by last launch), the calendar one or the fixed one."""
    calendar, fixed = _before(now, value, unit)
    return {"shorter": max(calendar, fixed), "calendar": calendar, "fixed": fixed}[readings["month_length"]]


def _utc_date(when):
    return when.astimezone(datetime.timezone.utc).date()


def old_enough(created, now, value, unit, readings):
    """Whether an image created at ``created`` is ``value`` ``unit`` old at ``now``, under the readings of
    ``age_boundary``: the guide's "older than the threshold", the CDK's "minimum age", to the instant or in whole
    units (older than N whole units is N + 1 of them at least), or by UTC date."""
    reading = readings["age_boundary"]
    if reading == "older_than_whole_units":
        return created <= time_before(now, value + 1, unit, readings)
    threshold = time_before(now, value, unit, readings)
    if reading == "at_least_by_date":
        return _utc_date(created) <= _utc_date(threshold)
    if reading == "at_least_exact":
        return created <= threshold
    return created < threshold


def launched_within(launched, now, value, unit, readings):
    """Whether an AMI last launched at ``launched`` (None: no launch recorded) was launched within ``value`` ``unit``
    of ``now``, under the readings of ``last_launched_boundary`` and ``last_launched_delay``.

    LifecyclePolicyDetailExclusionRulesAmis.lastLaunched: "AMIs with no recorded last-launched time aren't excluded
    by this rule."
    """
    if readings["last_launched_delay"] == "launched_in_the_last_day":
        launched = now
    if launched is None:
        return False
    threshold = time_before(now, value, unit, readings)
    reading = readings["last_launched_boundary"]
    if reading == "by_date":
        return _utc_date(launched) >= _utc_date(threshold)
    if reading == "at_or_after_the_bound":
        return launched >= threshold
    return launched > threshold


def _tags_match(rule_tags, tags):
    """LifecyclePolicyDetailExclusionRulesAmis.tagMap: "Lifecycle actions don't apply to AMIs that have any of these
    tags. Both the key and the value must match." """
    return any(tags.get(key) == value for key, value in rule_tags.items())


def _launch_exclusion(rules, ami, now, readings):
    launched = rules.get("lastLaunched")
    if not launched or not launched_within(
        ami.get("last_launched"), now, launched["value"], launched["unit"], readings
    ):
        return None
    period = f"{launched['value']} {launched['unit'].lower()}"
    if ami.get("last_launched") is None:
        return f"launched within {period} (exclusion_rules.amis.last_launched)"
    return f"launched {ami['last_launched'].isoformat()}, within {period} (exclusion_rules.amis.last_launched)"


# The guide's AMI-level exclusions: "Image Builder checks conditions in order and skips the AMI at the first match:
# 1. Region exclusion 2. Public AMI exclusion 3. Tag exclusion 4. Shared account exclusion 5. Last launched
# exclusion", and "skipped AMIs display a SKIPPED status with a reason that indicates which exclusion condition
# matched". Each condition: (the member of exclusion_rules.amis, in snake_case; why it keeps the AMI, or None).
AMI_EXCLUSIONS = (
    (
        "regions",
        lambda rules, ami, now, readings: (
            f"in region {ami['region']} (exclusion_rules.amis.regions)"
            if ami.get("region") in (rules.get("regions") or ())
            else None
        ),
    ),
    (
        "is_public",
        lambda rules, ami, now, readings: (
            "public AMI (exclusion_rules.amis.is_public)" if rules.get("isPublic") and ami.get("public") else None
        ),
    ),
    (
        "tag_map",
        lambda rules, ami, now, readings: (
            "has an excluded tag (exclusion_rules.amis.tag_map)"
            if rules.get("tagMap") and _tags_match(rules["tagMap"], ami.get("tags") or {})
            else None
        ),
    ),
    (
        # sharedAccounts: "The lifecycle action doesn't apply to AMIs that are shared with any of the specified
        # Amazon Web Services accounts."
        "shared_accounts",
        lambda rules, ami, now, readings: (
            "shared with %s (exclusion_rules.amis.shared_accounts)"
            % ", ".join(sorted(set(rules.get("sharedAccounts") or ()) & set(ami.get("shared_accounts") or ())))
            if set(rules.get("sharedAccounts") or ()) & set(ami.get("shared_accounts") or ())
            else None
        ),
    ),
    ("last_launched", _launch_exclusion),
)


def ami_exclusion(rules, ami, now, readings=SHOWN):
    """The first of the detail's ``exclusionRules.amis`` that keeps an AMI, in the guide's order: (the condition,
    why), or None when the action reaches it. The guide: "Image Builder reports an output AMI that meets any exclusion
    criteria as SKIPPED"."""
    for condition, keeps in AMI_EXCLUSIONS:
        why = keeps(rules or {}, ami, now, readings)
        if why:
            return condition, why
    return None


def ami_left_alone(rules, ami, now):
    """Whether the detail's ``exclusionRules.amis`` keep the AMI under every reading of the open cases: an AMI that
    one reading would act on counts as acted on (the side that never promises less than the service may do)."""
    return all(
        ami_exclusion(rules, ami, now, readings)
        for readings in (SHOWN,) + tuple(readings for dummy, readings in OTHER_READINGS)
    )


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


def _filter_decision(flt, img, group, position, now, readings):
    """(selected, reason) of the detail's filter for an image that holds retention slot ``position`` of ``group``."""
    if flt["type"] == "COUNT":
        # value: "For count-based filters, this value represents the minimum number of resources to keep on
        # hand. If you have fewer resources than this number, the resource is excluded from lifecycle actions."
        if position < flt["value"]:
            return False, f"among the newest {flt['value']} of {group} kept on hand (#{position + 1})"
        return True, f"#{position + 1} of {group}, beyond the newest {flt['value']} kept on hand"
    age = f"{flt['value']} {flt['unit'].lower()}"
    if not old_enough(img["date_created"], now, flt["value"], flt["unit"], readings):
        return False, f"created {img['date_created'].isoformat()}, not {age} old"
    # retainAtLeast: "the number of resources to keep on hand after the lifecycle DELETE action is applied.
    # Impacted resources are only deleted if you have more than this number of resources."
    if flt.get("retainAtLeast") and position < flt["retainAtLeast"]:
        return False, f"{age} old or older, but among the newest {flt['retainAtLeast']} of {group} (retain_at_least)"
    return True, f"created {img['date_created'].isoformat()}, {age} old or older"


def _evaluate(img, action, flt, rules, group, position, acted, now, readings):
    """(selected, matched, takes_slot, reason) of one detail for one image: ``matched`` when the filter selects an
    image that the detail's own tag exclusion keeps."""
    status = img["status"]
    if status == "DELETED":
        return False, False, False, "deleted already"
    if img["arn"] in acted and readings["retention_after_higher_priority"] == "takes_no_slot":
        return False, False, False, f"{acted[img['arn']].lower()}d by a higher-priority rule in this run"
    if status in IN_BUILD:
        return (
            False,
            False,
            readings["retained_skipped"] == "takes_a_slot",
            f"{status.lower()}: not evaluated until its build is done",
        )
    if status in SKIPPED_STATES[action]:
        skipped = f"already {status.lower()}: a {action.lower()} rule skips it"
        return False, False, status not in NO_RETENTION_SLOT and readings["retained_skipped"] == "takes_a_slot", skipped
    excluded = _image_exclusion(rules, img)
    if status in NO_RETENTION_SLOT:
        # A delete rule: "always qualify for deletion", unless its AGE filter applies to them too.
        if flt["type"] == "AGE" and readings["failed_image_age"] == "age_filter_applies":
            if not old_enough(img["date_created"], now, flt["value"], flt["unit"], readings):
                return False, False, False, f"{status.lower()}, not {flt['value']} {flt['unit'].lower()} old"
        if excluded:
            return False, True, False, excluded
        return True, False, False, f"{status.lower()}: always qualifies for deletion"
    takes_slot = not excluded or readings["retained_excluded"] == "takes_a_slot"
    selected, reason = _filter_decision(flt, img, group, position, now, readings)
    if selected and excluded:
        return False, True, takes_slot, excluded
    return selected, False, takes_slot, reason


def evaluate_detail(n, detail, images, now, readings=SHOWN, group_of=version_group, acted=None):
    """What policy detail ``n`` decides for each image: a dict by image ARN with ``selected``, ``matched`` (selected
    by the filter, kept by the detail's tag exclusion) and ``reason``. ``acted`` maps the images that higher-priority
    rules act on in this run to their action.

    The guide: "Image Builder evaluates image resources from newest to oldest (by creation date)", "the newest images
    fill retention slots first", per recipe version (``group_of``).
    """
    action, flt, rules = detail["action"]["type"], detail["filter"], detail.get("exclusionRules") or {}
    slots, decisions = {}, {}
    for img in sorted(images, key=lambda img: img["date_created"], reverse=True):
        group = group_of(img["arn"])
        position = slots.get(group, 0)
        selected, matched, takes_slot, reason = _evaluate(
            img, action, flt, rules, group, position, acted or {}, now, readings
        )
        if takes_slot:
            slots[group] = position + 1
        decisions[img["arn"]] = {"detail": n, "selected": selected, "matched": matched, "reason": reason}
    return decisions


def _resources(detail, img, now, readings):
    """What the detail's action reaches besides the image resource: AMIs (and the AMIs an exclusion keeps),
    snapshots and containers, as LifecyclePolicyDetailActionIncludeResources names them. Each AMI carries the open
    cases met on it.

    The guide's rules page: "Image Builder makes lifecycle action decisions at the image level. Associated output
    resources (AMIs, snapshots, containers) change only if you configured the rule to include them", and AMI exclusion
    rules "apply to the Amazon EC2 AMI resource, not the Image Builder image resource".
    """
    include = detail["action"].get("includeResources") or {}
    rules = (detail.get("exclusionRules") or {}).get("amis")
    reached = {"amis": [], "kept_amis": [], "snapshots": [], "containers": []}
    if include.get("amis"):
        for ami in img["amis"]:
            where = {"image": ami["image"], "region": ami["region"], "account_id": ami.get("account_id")}
            # What EC2 did not describe cannot be matched against the rules, nor its snapshots listed.
            unseen = ami.get("described") is False and (rules or include.get("snapshots"))
            where["open_questions"] = {"ami_not_described"} if unseen else set()
            kept = ami_exclusion(rules, ami, now, readings)
            if kept:
                reached["kept_amis"].append(dict(where, exclusion=kept[0], reason=kept[1]))
            else:
                reached["amis"].append(where)
    # includeResources: "you can only include snapshots together with AMIs"; DELETE rules alone include them.
    if include.get("snapshots") and include.get("amis"):
        kept = {ami["image"] for ami in reached["kept_amis"]}
        reached["snapshots"] = [snap for snap in img["snapshots"] if snap.get("ami") not in kept]
    if include.get("containers"):
        reached["containers"] = list(img["containers"])
    return reached


def _reasons(decisions, first, action):
    """What each detail decided for one image, saying of a detail that selected it why it is not the one that acts."""
    reasons = []
    for d in decisions:
        reason = d["reason"]
        if d["selected"] and d is not first:
            if first is None:
                reason += " (an earlier rule's exclusion keeps it: one action per image per run)"
            else:
                reason += f" (the {action.lower()} rule acts first: one action per image per run)"
        reasons.append({"detail": d["detail"], "selected": d["selected"], "reason": reason})
    return reasons


def _one_run(details, images, now, readings, group_of, with_amis=True, explain=True):
    """Every image's action in one run under one set of readings: a list, newest first, of dicts with ``arn``,
    ``action``, ``decided_by``, ``reason``, ``reasons``, ``resources`` and ``image_retained``. Without ``with_amis``,
    what the action reaches is not worked out (``resources`` stays None): for readings that decide images only;
    without ``explain``, no ``reasons``: for a run that is only compared with the one shown.

    The guide: "Image Builder evaluates rules in priority order: deprecate, then disable, then delete. Only one
    action applies to each image per execution. If an image matches a deprecate rule, Image Builder skips the disable
    and delete rules for that image during the same run."
    """
    acted, stopped, chosen, per_detail = {}, set(), {}, {}
    for n in sorted(range(len(details)), key=lambda n: PRIORITY.index(details[n]["action"]["type"])):
        per_detail[n] = evaluate_detail(n, details[n], images, now, readings, group_of, acted)
        for arn, decision in per_detail[n].items():
            if arn in acted or arn in stopped:
                continue
            if decision["selected"]:
                acted[arn], chosen[arn] = details[n]["action"]["type"], decision
            elif decision["matched"] and readings["exclusion_falls_through"] == "stops":
                stopped.add(arn)
    result = []
    for img in sorted(images, key=lambda img: img["date_created"], reverse=True):
        decisions = [per_detail[n][img["arn"]] for n in range(len(details))]
        first = chosen.get(img["arn"])
        entry = {"arn": img["arn"], "date_created": img["date_created"], "tags": img["tags"], "action": None}
        entry.update(decided_by=None, resources=None, image_retained=False)
        if explain:
            entry["reasons"] = _reasons(decisions, first, acted.get(img["arn"]))
        if first is None:
            if explain:
                entry["reason"] = "; ".join(f"policy_details[{r['detail']}]: {r['reason']}" for r in entry["reasons"])
        else:
            detail = details[first["detail"]]
            entry.update(action=detail["action"]["type"], decided_by=first["detail"], reason=first["reason"])
            if with_amis:
                entry["resources"] = resources = _resources(detail, img, now, readings)
                entry["image_retained"] = bool(
                    entry["action"] == "DELETE"
                    and resources["kept_amis"]
                    and readings["delete_with_skipped_amis"] == "image_retained"
                )
        result.append(entry)
    return result


def _ami_outcomes(entry):
    """Each AMI the entry's action names, by ID: reached, or kept by an exclusion."""
    if not entry["resources"]:
        return {}
    outcomes = {ami["image"]: "reached" for ami in entry["resources"]["amis"]}
    outcomes.update((ami["image"], "kept") for ami in entry["resources"]["kept_amis"])
    return outcomes


def _note_differences(case, shown, other):
    """Give ``case`` to each image of the shown run whose outcome differs in the other run, and to each AMI whose
    own outcome differs under the same action."""
    for mine, theirs in zip(shown, other):
        if (mine["action"], mine["image_retained"]) != (theirs["action"], theirs["image_retained"]):
            mine["open_questions"].add(case)
            continue
        if theirs["resources"] is None:
            continue
        outcomes = _ami_outcomes(theirs)
        for ami in (mine["resources"] or {}).get("amis", []) + (mine["resources"] or {}).get("kept_amis", []):
            if outcomes.get(ami["image"]) != ("kept" if "exclusion" in ami else "reached"):
                ami["open_questions"].add(case)
                mine["open_questions"].add(case)


def _keeps_on_hand(detail):
    return detail["filter"]["type"] == "COUNT" or bool(detail["filter"].get("retainAtLeast"))


def _amis_rule(detail, member=None):
    rules = (detail.get("exclusionRules") or {}).get("amis") or {}
    return bool(
        (detail["action"].get("includeResources") or {}).get("amis") and (rules.get(member) if member else rules)
    )


# When a case cannot change anything under a policy, its other readings are not run (a saving, never a decision: a
# case left out of this table is always run).
CASE_CAN_MATTER = {
    "age_boundary": lambda details, images, by_tags: any(d["filter"]["type"] == "AGE" for d in details),
    "month_length": lambda details, images, by_tags: any(
        unit in FIXED_DAYS
        for d in details
        for unit in (
            d["filter"].get("unit"),
            (((d.get("exclusionRules") or {}).get("amis") or {}).get("lastLaunched") or {}).get("unit"),
        )
    ),
    "last_launched_boundary": lambda details, images, by_tags: any(_amis_rule(d, "lastLaunched") for d in details),
    "last_launched_delay": lambda details, images, by_tags: any(_amis_rule(d, "lastLaunched") for d in details),
    "retention_after_higher_priority": lambda details, images, by_tags: len(details) > 1
    and any(_keeps_on_hand(d) for d in details),
    "exclusion_falls_through": lambda details, images, by_tags: len(details) > 1
    and any((d.get("exclusionRules") or {}).get("tagMap") for d in details),
    "failed_image_age": lambda details, images, by_tags: any(img["status"] in NO_RETENTION_SLOT for img in images)
    and any(d["action"]["type"] == "DELETE" and d["filter"]["type"] == "AGE" for d in details),
    "delete_with_skipped_amis": lambda details, images, by_tags: any(
        d["action"]["type"] == "DELETE" and _amis_rule(d) for d in details
    ),
    "tag_selection_groups": lambda details, images, by_tags: by_tags and any(_keeps_on_hand(d) for d in details),
    "retained_excluded": lambda details, images, by_tags: any(
        _keeps_on_hand(d) and (d.get("exclusionRules") or {}).get("tagMap") for d in details
    ),
    "retained_skipped": lambda details, images, by_tags: any(_keeps_on_hand(d) for d in details),
}


# The cases whose readings decide only which action each image gets: under the same action an image's AMIs fare the
# same, so their runs need not work out the AMIs (a saving; a case left out of this list has its AMIs compared).
CASES_ON_IMAGES_ONLY = (
    "age_boundary",
    "retention_after_higher_priority",
    "exclusion_falls_through",
    "failed_image_age",
    "tag_selection_groups",
    "retained_excluded",
    "retained_skipped",
)


def decide(details, images, now, by_tags=False):
    """Every image's action under the policy's details, as the shown readings say (SHOWN: for each open case, the
    reading that acts on more), with ``open_questions``: the cases whose other readings would change what happens to
    the image or one of its AMIs. ``by_tags``: the policy selects its images by tags (``tag_selection_groups``).

    Each other reading is one more run of these pure rules over the same images: no call is made for it.
    """

    def groups(readings):
        if by_tags and readings["tag_selection_groups"] == "version":
            return lambda arn: version_group(arn).rsplit("/", 1)[-1]
        return version_group

    shown = _one_run(details, images, now, SHOWN, groups(SHOWN))
    for entry in shown:
        entry["open_questions"] = set()
        for ami in (entry["resources"] or {}).get("amis", []) + (entry["resources"] or {}).get("kept_amis", []):
            entry["open_questions"] |= ami["open_questions"]
    for case, readings in OTHER_READINGS:
        if not CASE_CAN_MATTER.get(case, lambda *args: True)(details, images, by_tags):
            continue
        other = _one_run(details, images, now, readings, groups(readings), case not in CASES_ON_IMAGES_ONLY, False)
        _note_differences(case, shown, other)
    for entry in shown:
        entry["open_questions"] = sorted(entry["open_questions"])
        for ami in (entry["resources"] or {}).get("amis", []) + (entry["resources"] or {}).get("kept_amis", []):
            ami["open_questions"] = sorted(ami["open_questions"])
    return shown


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


def one_listing_for_all(client):
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
    if one_listing_for_all(client):
        return paginate(
            client,
            client.list_image_build_versions,
            "ListImageBuildVersions",
            "imageSummaryList",
            filters=api_filters(type=image_type, name=name),
        )
    summaries = []
    versions = paginate(
        client, client.list_images, "ListImages", "imageVersionList", filters=api_filters(type=image_type, name=name)
    )
    for version in versions:
        summaries += paginate(
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


@error_handler("describe the AMIs of the selected images in {region}")
def describe_amis(ec2, region, image_ids, shared_accounts=()):
    """What EC2 says of this account's AMIs in one region, by AMI ID: ``public``, ``last_launched``, ``tags``,
    ``snapshots``, ``state``, ``deprecation_time`` and, of ``shared_accounts`` (the exclusion rules' accounts), those
    each AMI is shared with.

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
        for ami in paginate(
            ec2,
            ec2.describe_images,
            "DescribeImages",
            "Images",
            Filters=[{"Name": "image-id", "Values": batch}],
            **scope,
        ):
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
                # What imagebuilder_lifecycle_execution compares with a state update's target (ImageState, and
                # DeprecationTime: a deprecated AMI is "available" with a deprecation time that has passed).
                "state": ami.get("State"),
                "deprecation_time": parse_time(ami["DeprecationTime"]) if ami.get("DeprecationTime") else None,
                # What the safety checks say of a delete (Image.DeregistrationProtection: "Indicates whether
                # deregistration protection is enabled for the AMI.").
                "deregistration_protection": ami.get("DeregistrationProtection"),
            }
        for account in sorted(set(shared_accounts)):
            filters = [{"Name": "image-id", "Values": batch}]
            for ami in paginate(
                ec2,
                ec2.describe_images,
                "DescribeImages",
                "Images",
                Filters=filters,
                ExecutableUsers=[account],
                **scope,
            ):
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


def preview_policy(client, ec2_for_region, policy, now, ami_details=None):
    """What the policy (its resourceType, resourceSelection and policyDetails, in the API's form) would do at
    ``now``: ``images`` (decide()'s entries), ``summary`` and the ``open_questions`` of the whole preview.

    ``ec2_for_region(region)`` gives an EC2 client; it is asked only for the regions the selected AMIs are in, and
    only when a detail needs EC2's answers. ``ami_details``: a dict that receives what EC2 then says of the selected
    AMIs, so that the safety checks read no AMI twice.
    """
    details = policy["policyDetails"]
    selected = selected_summaries(client, policy["resourceSelection"], policy["resourceType"])
    # No member of ImageSummary is required in the model: one without a creation date cannot be placed by age.
    summaries = [summary_ for summary_ in selected if summary_.get("dateCreated")]
    questions = {"undated_image"} if len(summaries) < len(selected) else set()
    read = None
    if policy["resourceType"] == "AMI_IMAGE" and _reads_ec2(details):
        read = {} if ami_details is None else ami_details
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
            read.update(describe_amis(ec2_for_region(region), region, by_region[region], accounts))
    images = [preview_image(summary_, read) for summary_ in summaries]
    decisions = decide(details, images, now, by_tags=not policy["resourceSelection"].get("recipes"))
    questions = sorted(questions.union(*(entry["open_questions"] for entry in decisions)))
    return {"images": decisions, "summary": summary(decisions), "open_questions": questions}


# --- the preview as the modules return it ---------------------------------------------------------------------------


def _ami_resource(ami, action, snapshots):
    resource = {"resource_id": ami["image"], "region": ami["region"], "action": {"name": action}}
    if ami.get("account_id"):
        resource["account_id"] = ami["account_id"]
    if snapshots is not None:
        resource["snapshots"] = [{"snapshot_id": snap} for snap in snapshots]
    resource["open_questions"] = sorted(ami["open_questions"])
    return resource


def _excluded_ami(ami):
    resource = {"resource_id": ami["image"], "region": ami["region"]}
    if ami.get("account_id"):
        resource["account_id"] = ami["account_id"]
    resource.update(exclusion=ami["exclusion"], reason=ami["reason"], open_questions=sorted(ami["open_questions"]))
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
            "open_questions": sorted(entry["open_questions"]),
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
            excluded_resources=[_excluded_ami(ami) for ami in resources["kept_amis"]],
        )
        acted_on.append(resource)
    return acted_on, kept


def describe_preview(client, ec2_for_region, policy, now, ami_details=None):
    """What the preview module returns for a policy in the API's form: which policy, the images it would act on
    (``resources``) and those it would keep (``kept``), counts per action, and the cases the model leaves open."""
    result = preview_policy(client, ec2_for_region, policy, now, ami_details)
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
        "open_questions": listed(result["open_questions"]),
    }


def without_details(preview):
    """The preview with each image reduced to its ID, its action's name and its open cases: the counts and open
    cases of a large preview, readable at a glance."""
    return dict(
        preview,
        resources=[
            {
                "resource_id": r["resource_id"],
                "action": {"name": r["action"]["name"]},
                "open_questions": r["open_questions"],
            }
            for r in preview["resources"]
        ],
        kept=[{"resource_id": r["resource_id"], "open_questions": r["open_questions"]} for r in preview["kept"]],
    )


# --- the policy the module previews ----------------------------------------------------------------------------------

# What the preview of a policy that does not exist yet needs from the options.
NEW_POLICY_NEEDS = ("resource_type", "policy_details", "resource_selection")


def policy_to_preview(module, client):
    """The existing policy the options name, or None for a new one (whose options must then be complete)."""
    params = module.params
    if params["arn"] is not None:
        current = get_lifecycle_policy(client, params["arn"])
        if current is None:
            module.fail_json(msg=f"arn: no lifecycle policy {params['arn']!r} in this account and region")
        return current
    current = find_lifecycle_policy(client, params["name"])
    if current is not None:
        return current
    missing = [option for option in NEW_POLICY_NEEDS if params[option] is None]
    if missing:
        module.fail_json(
            msg=f"name: no lifecycle policy {params['name']!r}; to preview a new one, give {', '.join(missing)}"
        )
    # As imagebuilder_lifecycle_policy would refuse to create it: a name that is another's but for case or spaces.
    errors = name_conflict_errors(client, params["name"])
    if errors:
        module.fail_json(msg="; ".join(errors))
    module.warn(f"No lifecycle policy is named {params['name']!r}: previewing it as a new policy, from the options")
    return None
