# -*- coding: utf-8 -*-

# Copyright: Contributors to the imagebuilder_ops.aws project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The rule semantics of a lifecycle policy preview: each filter at its edge, retain_at_least over the age filter,
exclusions that overlap, and how several details combine, with the open cases said, not guessed."""

import datetime
import itertools
import re
from pathlib import Path

import pytest

from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import _common as common
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils import lifecycle_preview as preview
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_open_cases import OPEN_CASE
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_open_cases import OPEN_CASES
from ansible_collections.imagebuilder_ops.aws.plugins.module_utils.lifecycle_open_cases import SHOWN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import IMAGES_PAGE
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import VERSION_ARN
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import builds
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import described
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import listing
from ansible_collections.imagebuilder_ops.aws.tests.unit.plugins.lifecycle_data import summary

NOW = datetime.datetime(2026, 3, 31, 2, 0, tzinfo=datetime.timezone.utc)
ARN = "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-ami/1.0.0/%d"


def days_ago(days, **extra):
    return NOW - datetime.timedelta(days=days, **extra)


def images(*created, **extra):
    """Image build versions 1..n created at these times, each with one AMI in us-east-1 and its snapshot."""
    return [
        preview.image(
            ARN % n,
            when,
            amis=[{"region": "us-east-1", "image": "ami-%017d" % n, "public": False, "shared_accounts": []}],
            snapshots=[{"ami": "ami-%017d" % n, "snapshot": "snap-%017d" % n}],
            **extra,
        )
        for n, when in enumerate(created, start=1)
    ]


def delete(flt, include=None, exclusion_rules=None):
    detail = {"action": {"type": "DELETE", "includeResources": include or {}}, "filter": flt}
    if exclusion_rules:
        detail["exclusionRules"] = exclusion_rules
    return detail


def actions(decisions):
    return {entry["arn"].rsplit("/", 1)[1]: entry["action"] for entry in decisions}


def questions(decisions):
    return {entry["arn"].rsplit("/", 1)[1]: entry["open_questions"] for entry in decisions}


def utc(*args):
    return datetime.datetime(*args, tzinfo=datetime.timezone.utc)


def deprecate(flt, exclusion_rules=None, include=None):
    detail = {"action": {"type": "DEPRECATE", "includeResources": include or {}}, "filter": flt}
    if exclusion_rules:
        detail["exclusionRules"] = exclusion_rules
    return detail


def test_every_open_case_has_its_question_its_sources_and_the_reading_shown():
    for case in OPEN_CASES:
        assert case.question and case.shown and case.sources, case.case
        assert len(set(case.readings)) == len(case.readings) != 1, case.case
    assert [case.case for case in OPEN_CASES] == list(OPEN_CASE)


def test_the_guide_lists_the_open_cases_the_code_has():
    guide = (Path(__file__).parents[4] / "docs" / "docsite" / "rst" / "lifecycle_preview.rst").read_text()
    section = guide.split("\nCases left open\n", 1)[1].split("\nCalls and cost\n", 1)[0]
    assert re.findall(r"^  \* - ``(\w+)``$", section, re.M) == [case.case for case in OPEN_CASES]


# --- age_boundary: "older than the threshold" (the guide), "the minimum age" (the CDK), to the instant or by unit ---


def test_an_image_near_the_age_threshold_is_selected_and_carries_the_question_under_every_reading_that_differs():
    threshold = days_ago(90)  # 2025-12-31 02:00
    imgs = images(
        threshold + datetime.timedelta(milliseconds=3),  # a few milliseconds short of 90 days: old enough by date
        threshold,  # exactly 90 days: not "older than"
        threshold - datetime.timedelta(hours=12),  # 90.5 days: not older than 90 whole days
        threshold - datetime.timedelta(days=2),  # 92 days: old enough however read
        utc(2026, 1, 1),  # the day after the threshold's date: young enough however read
    )
    decisions = preview.decide([delete({"type": "AGE", "value": 90, "unit": "DAYS"})], imgs, NOW)
    assert actions(decisions) == {"1": "DELETE", "2": "DELETE", "3": "DELETE", "4": "DELETE", "5": None}
    assert questions(decisions) == {
        "1": ["age_boundary"],
        "2": ["age_boundary"],
        "3": ["age_boundary"],
        "4": [],
        "5": [],
    }


def test_an_open_case_that_changes_nothing_for_an_image_is_not_raised():
    # Exactly 90 days old: the delete rule's boundary is open, but the deprecate rule (30 days) acts first anyway.
    imgs = images(days_ago(90))
    details = [
        deprecate({"type": "AGE", "value": 30, "unit": "DAYS"}),
        delete({"type": "AGE", "value": 90, "unit": "DAYS"}),
    ]
    decisions = preview.decide(details, imgs, NOW)
    assert actions(decisions) == {"1": "DEPRECATE"} and questions(decisions) == {"1": []}


@pytest.mark.parametrize(
    "value, unit, readings",
    [
        (2, "WEEKS", {"shorter": utc(2026, 3, 17, 2), "calendar": utc(2026, 3, 17, 2), "fixed": utc(2026, 3, 17, 2)}),
        # A calendar month before 31 March is the last day of February; 30 days before is 1 March.
        (1, "MONTHS", {"shorter": utc(2026, 3, 1, 2), "calendar": utc(2026, 2, 28, 2), "fixed": utc(2026, 3, 1, 2)}),
        (13, "MONTHS", {"shorter": utc(2025, 3, 6, 2), "calendar": utc(2025, 2, 28, 2), "fixed": utc(2025, 3, 6, 2)}),
        # One calendar year back from 31 March 2026 is 365 days either way.
        (1, "YEARS", {"shorter": utc(2025, 3, 31, 2), "calendar": utc(2025, 3, 31, 2), "fixed": utc(2025, 3, 31, 2)}),
        # Four calendar years span a 29 February: 1461 days, one more than 4 x 365.
        (4, "YEARS", {"shorter": utc(2022, 4, 1, 2), "calendar": utc(2022, 3, 31, 2), "fixed": utc(2022, 4, 1, 2)}),
    ],
)
def test_age_units_under_each_reading_of_months_and_years(value, unit, readings):
    for reading, expected in readings.items():
        assert preview.time_before(NOW, value, unit, dict(SHOWN, month_length=reading)) == expected


def test_an_image_between_the_two_readings_of_a_month_is_selected_and_carries_the_question():
    # Created 1 March 01:00: 30 days old on 31 March, not yet a calendar month (28 February).
    imgs = images(utc(2026, 3, 1, 1), utc(2026, 2, 20, 2))
    decisions = preview.decide([delete({"type": "AGE", "value": 1, "unit": "MONTHS"})], imgs, NOW)
    assert actions(decisions) == {"1": "DELETE", "2": "DELETE"}
    assert "month_length" in questions(decisions)["1"]
    assert "month_length" not in questions(decisions)["2"]


# --- retention: count and retain_at_least per recipe version --------------------------------------------------------


def test_retain_at_least_keeps_the_newest_however_old():
    # Five images, all older than 30 days: retain_at_least 2 keeps the two newest, the age filter takes the rest.
    imgs = images(*(days_ago(40 + n) for n in range(5)))
    decisions = preview.decide([delete({"type": "AGE", "value": 30, "unit": "DAYS", "retainAtLeast": 2})], imgs, NOW)
    assert actions(decisions) == {"1": None, "2": None, "3": "DELETE", "4": "DELETE", "5": "DELETE"}
    assert decisions[1]["reasons"][0]["reason"] == (
        "30 days old or older, but among the newest 2 of golden-ami/1.0.0 (retain_at_least)"
    )


def test_retain_at_least_counts_the_young_images_too():
    # Two young images are the two kept on hand: every old one goes.
    imgs = images(days_ago(1), days_ago(2), days_ago(40), days_ago(41))
    decisions = preview.decide([delete({"type": "AGE", "value": 30, "unit": "DAYS", "retainAtLeast": 2})], imgs, NOW)
    assert actions(decisions) == {"1": None, "2": None, "3": "DELETE", "4": "DELETE"}


def test_count_keeps_the_newest_value_images():
    imgs = images(*(days_ago(n) for n in (5, 1, 4, 2, 3)))
    decisions = preview.decide([delete({"type": "COUNT", "value": 3})], imgs, NOW)
    # Newest first: 2 (1 day), 4, 5, then 3 and 1 (4 and 5 days) beyond the three kept.
    assert [entry["arn"][-1] for entry in decisions] == ["2", "4", "5", "3", "1"]
    assert actions(decisions) == {"2": None, "4": None, "5": None, "3": "DELETE", "1": "DELETE"}
    assert decisions[3]["reason"] == "#4 of golden-ami/1.0.0, beyond the newest 3 kept on hand"
    assert all(entry["open_questions"] == [] for entry in decisions)


def test_fewer_images_than_the_count_are_all_kept():
    decisions = preview.decide([delete({"type": "COUNT", "value": 3})], images(days_ago(400), days_ago(500)), NOW)
    assert actions(decisions) == {"1": None, "2": None}


def test_count_and_retain_at_least_apply_per_recipe_version():
    # Two builds of 1.0.0 and two of 1.1.0 (1.x.x selects both): each version keeps its newest one.
    imgs = [
        preview.image(VERSION_ARN % ("golden-ami", version) + "/%d" % build, days_ago(age))
        for version, build, age in (("1.0.0", 1, 300), ("1.0.0", 2, 200), ("1.1.0", 1, 100), ("1.1.0", 2, 50))
    ]
    for flt in ({"type": "COUNT", "value": 1}, {"type": "AGE", "value": 30, "unit": "DAYS", "retainAtLeast": 1}):
        decisions = preview.decide([delete(flt)], imgs, NOW)
        assert {entry["arn"].split("image/")[1]: entry["action"] for entry in decisions} == {
            "golden-ami/1.1.0/2": None,
            "golden-ami/1.1.0/1": "DELETE",
            "golden-ami/1.0.0/2": None,
            "golden-ami/1.0.0/1": "DELETE",
        }


def test_a_tag_selection_counts_per_version_across_recipes_and_carries_the_question():
    # Selected by tags: two builds of a/1.0.0 and one of b/1.0.0. Per version alone, the oldest is third of 1.0.0.
    imgs = [
        preview.image(VERSION_ARN % (name, "1.0.0") + "/%d" % build, days_ago(age))
        for name, build, age in (("a", 1, 30), ("a", 2, 20), ("b", 1, 10))
    ]
    details = [delete({"type": "COUNT", "value": 2})]
    decisions = preview.decide(details, imgs, NOW, by_tags=True)
    assert [(entry["arn"].split("image/")[1], entry["action"]) for entry in decisions] == [
        ("b/1.0.0/1", None),
        ("a/1.0.0/2", None),
        ("a/1.0.0/1", "DELETE"),
    ]
    assert [entry["open_questions"] for entry in decisions] == [[], [], ["tag_selection_groups"]]
    # Selected by recipes, a recipe version is the recipe's: nothing is open.
    decisions = preview.decide(details, imgs, NOW)
    assert [entry["action"] for entry in decisions] == [None, None, None]
    assert [entry["open_questions"] for entry in decisions] == [[], [], []]


def test_an_image_a_higher_priority_rule_acts_on_takes_a_delete_retention_slot_and_carries_the_question():
    # 1 and 2 are deprecated in this run; 3 was deprecated before. Counting 1 and 2, 3 is third of its version.
    imgs = images(days_ago(40), days_ago(50), days_ago(60))
    imgs[2]["status"] = "DEPRECATED"
    details = [deprecate({"type": "AGE", "value": 30, "unit": "DAYS"}), delete({"type": "COUNT", "value": 2})]
    decisions = preview.decide(details, imgs, NOW)
    assert actions(decisions) == {"1": "DEPRECATE", "2": "DEPRECATE", "3": "DELETE"}
    assert questions(decisions) == {"1": [], "2": [], "3": ["retention_after_higher_priority"]}


def test_an_image_a_rule_s_own_tag_exclusion_keeps_falls_through_to_the_next_rule_and_carries_the_question():
    imgs = images(days_ago(90), days_ago(91))
    imgs[0]["tags"] = {"keep": "yes"}
    details = [
        deprecate({"type": "AGE", "value": 30, "unit": "DAYS"}, {"tagMap": {"keep": "yes"}}),
        delete({"type": "AGE", "value": 60, "unit": "DAYS"}),
    ]
    decisions = preview.decide(details, imgs, NOW)
    assert actions(decisions) == {"1": "DELETE", "2": "DEPRECATE"}
    assert questions(decisions) == {"1": ["exclusion_falls_through"], "2": []}
    assert decisions[0]["reasons"][0]["reason"] == "has the excluded tag(s) keep (exclusion_rules.tag_map)"


def test_an_image_with_any_of_the_exclusion_tags_is_kept():
    imgs = images(days_ago(100), tags={"keep": "forever"})
    rules = {"tagMap": {"keep": "forever", "team": "ops"}}
    decisions = preview.decide([delete({"type": "AGE", "value": 1, "unit": "DAYS"}, exclusion_rules=rules)], imgs, NOW)
    assert decisions[0]["action"] is None
    assert decisions[0]["reason"] == "policy_details[0]: has the excluded tag(s) keep (exclusion_rules.tag_map)"
    assert decisions[0]["open_questions"] == []


def test_a_tag_excluded_image_among_the_newest_takes_a_retention_slot_and_the_next_carries_the_question():
    imgs = images(days_ago(1), days_ago(2), days_ago(3))
    imgs[0]["tags"] = {"keep": "forever"}
    rules = {"tagMap": {"keep": "forever"}}
    decisions = preview.decide([delete({"type": "COUNT", "value": 1}, exclusion_rules=rules)], imgs, NOW)
    # Read the other way (it takes no slot), image 2 would be the one kept on hand.
    assert actions(decisions) == {"1": None, "2": "DELETE", "3": "DELETE"}
    assert questions(decisions) == {"1": [], "2": ["retained_excluded"], "3": []}
    # Beyond the count the tag keeps an image all the same, and no question arises.
    imgs[0]["tags"], imgs[2]["tags"] = {}, {"keep": "forever"}
    decisions = preview.decide([delete({"type": "COUNT", "value": 1}, exclusion_rules=rules)], imgs, NOW)
    assert actions(decisions) == {"1": None, "2": "DELETE", "3": None}
    assert questions(decisions) == {"1": [], "2": [], "3": []}


# --- image states ---------------------------------------------------------------------------------------------------


def test_failed_and_cancelled_images_always_qualify_for_deletion_and_take_no_retention_slot():
    imgs = images(days_ago(1), days_ago(2), days_ago(300))
    imgs[0]["status"], imgs[1]["status"] = "FAILED", "CANCELLED"
    details = [
        deprecate({"type": "AGE", "value": 30, "unit": "DAYS"}),
        delete({"type": "COUNT", "value": 1}),
    ]
    decisions = preview.decide(details, imgs, NOW)
    # The failed and the cancelled image go however young; the old available one is the one kept on hand, so the
    # deprecate rule takes it.
    assert actions(decisions) == {"1": "DELETE", "2": "DELETE", "3": "DEPRECATE"}
    assert decisions[0]["reasons"][0]["reason"] == "already failed: a deprecate rule skips it"
    assert decisions[0]["reason"] == "failed: always qualifies for deletion"
    assert decisions[2]["reasons"][1]["selected"] is False
    assert questions(decisions) == {"1": [], "2": [], "3": []}


def test_a_failed_image_younger_than_the_delete_age_is_deleted_and_carries_the_question():
    imgs = images(days_ago(5), days_ago(200))
    imgs[0]["status"] = imgs[1]["status"] = "FAILED"
    decisions = preview.decide([delete({"type": "AGE", "value": 90, "unit": "DAYS"})], imgs, NOW)
    assert actions(decisions) == {"1": "DELETE", "2": "DELETE"}
    assert questions(decisions) == {"1": ["failed_image_age"], "2": []}


def test_images_still_being_built_take_a_retention_slot_and_the_next_carries_the_question():
    imgs = images(days_ago(1), days_ago(300), days_ago(400))
    imgs[0]["status"] = "BUILDING"
    decisions = preview.decide([delete({"type": "COUNT", "value": 1})], imgs, NOW)
    assert actions(decisions) == {"1": None, "2": "DELETE", "3": "DELETE"}
    assert decisions[0]["reason"] == "policy_details[0]: building: not evaluated until its build is done"
    assert questions(decisions) == {"1": [], "2": ["retained_skipped"], "3": []}


def test_an_image_a_rule_skips_by_its_state_takes_a_retention_slot_and_the_next_carries_the_question():
    # Deprecated already, the 50-day image is skipped by the deprecate rule, but it is the newest one kept on hand.
    imgs = images(days_ago(50), days_ago(60), days_ago(70))
    imgs[0]["status"] = "DEPRECATED"
    rule = deprecate({"type": "AGE", "value": 30, "unit": "DAYS", "retainAtLeast": 1})
    decisions = preview.decide([rule], imgs, NOW)
    assert actions(decisions) == {"1": None, "2": "DEPRECATE", "3": "DEPRECATE"}
    assert questions(decisions) == {"1": [], "2": ["retained_skipped"], "3": []}
    # A deleted image is gone: it holds no slot, and no question arises.
    imgs[0]["status"] = "DELETED"
    decisions = preview.decide([rule], imgs, NOW)
    assert actions(decisions) == {"1": None, "2": None, "3": "DEPRECATE"}
    assert questions(decisions) == {"1": [], "2": [], "3": []}


def test_deprecate_then_disable_then_delete_one_action_per_image_per_run():
    details = [
        delete({"type": "AGE", "value": 90, "unit": "DAYS"}),
        {"action": {"type": "DISABLE"}, "filter": {"type": "AGE", "value": 60, "unit": "DAYS"}},
        deprecate({"type": "AGE", "value": 30, "unit": "DAYS"}),
    ]
    imgs = images(days_ago(10), days_ago(45), days_ago(75), days_ago(120), days_ago(130), days_ago(140))
    # An earlier run deprecated 3 and 5, and disabled 6: the rules that skip those states let the next rule act.
    imgs[2]["status"], imgs[4]["status"], imgs[5]["status"] = "DEPRECATED", "DEPRECATED", "DISABLED"
    decisions = preview.decide(details, imgs, NOW)
    assert actions(decisions) == {
        "1": None,
        "2": "DEPRECATE",
        "3": "DISABLE",
        "4": "DEPRECATE",
        "5": "DISABLE",
        "6": "DELETE",
    }
    assert [entry["decided_by"] for entry in decisions] == [None, 2, 1, 2, 1, 0]
    # Image 4 (120 days, available) meets all three rules: deprecate acts, and the others say why they did not.
    assert [reason["selected"] for reason in decisions[3]["reasons"]] == [True, True, True]
    assert decisions[3]["reasons"][0]["reason"].endswith(
        "(the deprecate rule acts first: one action per image per run)"
    )
    assert decisions[0]["reason"].startswith("policy_details[0]: created ")
    assert preview.summary(decisions) == {"DEPRECATE": 2, "DISABLE": 2, "DELETE": 1, "none": 1}
    assert all(entry["open_questions"] == [] for entry in decisions)


# --- AMIs: exclusions in the guide's order, last_launched, and what a delete with a skipped AMI leaves -------------

GUIDE_ORDER = ("regions", "is_public", "tag_map", "shared_accounts", "last_launched")
EVERY_AMI_EXCLUSION = {
    "regions": ["eu-west-1"],
    "isPublic": True,
    "tagMap": {"hold": "yes"},
    "sharedAccounts": ["210987654321"],
    "lastLaunched": {"value": 30, "unit": "DAYS"},
}
MATCHES = {
    "regions": {"region": "eu-west-1"},
    "is_public": {"public": True},
    "tag_map": {"tags": {"hold": "yes"}},
    "shared_accounts": {"shared_accounts": ["210987654321"]},
    "last_launched": {"last_launched": days_ago(3)},
}


@pytest.mark.parametrize("first, second", list(itertools.combinations(GUIDE_ORDER, 2)))
def test_an_ami_two_exclusions_match_is_kept_by_the_first_in_the_guide_s_order(first, second):
    ami = dict({"region": "us-east-1", "image": "ami-1"}, **MATCHES[second])
    ami.update(MATCHES[first])
    assert preview.ami_exclusion(EVERY_AMI_EXCLUSION, ami, NOW)[0] == first


def test_an_ami_that_one_reading_of_an_open_case_would_act_on_is_not_left_alone(monkeypatch):
    # Only the shown readings keep it: another reading of a case the sources leave open would act on it.
    monkeypatch.setattr(
        preview, "ami_exclusion", lambda rules, ami, now, readings: readings == SHOWN and ("tag_map", "x")
    )
    assert preview.ami_left_alone({"tagMap": {"Keep": "yes"}}, {"region": "us-east-1"}, NOW) is False
    monkeypatch.setattr(preview, "ami_exclusion", lambda rules, ami, now, readings: ("tag_map", "x"))
    assert preview.ami_left_alone({"tagMap": {"Keep": "yes"}}, {"region": "us-east-1"}, NOW) is True


def test_an_ami_matching_no_exclusion_is_reached():
    assert preview.ami_exclusion(EVERY_AMI_EXCLUSION, {"region": "us-east-1", "image": "ami-1"}, NOW) is None


def test_ami_exclusions_keep_each_ami_once_with_the_first_condition_and_its_snapshot():
    amis = [
        {"region": "us-east-1", "image": "ami-public", "public": True, "shared_accounts": []},
        {"region": "eu-west-1", "image": "ami-eu", "public": True, "shared_accounts": ["210987654321"]},
        {"region": "us-west-2", "image": "ami-shared", "public": False, "shared_accounts": ["210987654321"]},
        {"region": "ap-south-1", "image": "ami-used", "public": False, "last_launched": days_ago(3)},
        {"region": "ap-south-1", "image": "ami-never-launched", "public": False, "last_launched": None},
        {"region": "sa-east-1", "image": "ami-tagged", "public": True, "tags": {"Name": "base", "hold": "yes"}},
        {"region": "ca-central-1", "image": "ami-gone", "public": False, "last_launched": days_ago(40)},
    ]
    snapshots = [{"ami": ami["image"], "snapshot": "snap-" + ami["image"]} for ami in amis]
    img = preview.image(ARN % 1, days_ago(400), amis=amis, snapshots=snapshots)
    detail = delete(
        {"type": "AGE", "value": 1, "unit": "YEARS"}, {"amis": True, "snapshots": True}, {"amis": EVERY_AMI_EXCLUSION}
    )
    [decision] = preview.decide([detail], [img], NOW)
    # The image itself is deleted: AMI exclusions "apply to the Amazon EC2 AMI resource, not the Image Builder image".
    assert decision["action"] == "DELETE"
    resources = decision["resources"]
    assert [ami["image"] for ami in resources["amis"]] == ["ami-never-launched", "ami-gone"]
    assert {ami["image"]: (ami["exclusion"], ami["reason"]) for ami in resources["kept_amis"]} == {
        "ami-public": ("is_public", "public AMI (exclusion_rules.amis.is_public)"),
        # Public and in an excluded region: the region comes first.
        "ami-eu": ("regions", "in region eu-west-1 (exclusion_rules.amis.regions)"),
        "ami-shared": ("shared_accounts", "shared with 210987654321 (exclusion_rules.amis.shared_accounts)"),
        "ami-used": (
            "last_launched",
            "launched %s, within 30 days (exclusion_rules.amis.last_launched)" % days_ago(3).isoformat(),
        ),
        # Public and tagged: public comes first.
        "ami-tagged": ("is_public", "public AMI (exclusion_rules.amis.is_public)"),
    }
    assert [snap["snapshot"] for snap in resources["snapshots"]] == ["snap-ami-never-launched", "snap-ami-gone"]


def last_launched_decision(*launches, value=30, unit="DAYS"):
    amis = [{"region": "us-east-1", "image": "ami-%d" % n, "last_launched": when} for n, when in enumerate(launches, 1)]
    rules = {"amis": {"lastLaunched": {"value": value, "unit": unit}}}
    # A deprecate rule: a delete that skips an AMI raises a question of its own.
    detail = deprecate({"type": "AGE", "value": 1, "unit": "DAYS"}, rules, include={"amis": True})
    [decision] = preview.decide([detail], [preview.image(ARN % 1, days_ago(400), amis=amis)], NOW)
    return decision


def ami_questions(decision):
    resources = decision["resources"]
    outcome = {ami["image"]: ("reached", sorted(ami["open_questions"])) for ami in resources["amis"]}
    outcome.update((ami["image"], ("kept", sorted(ami["open_questions"]))) for ami in resources["kept_amis"])
    return outcome


def test_an_ami_launched_near_the_last_launched_bound_is_reached_and_carries_the_question():
    threshold = days_ago(30)
    decision = last_launched_decision(
        threshold,  # exactly at the bound: "within" the period or not
        threshold - datetime.timedelta(hours=1),  # the bound's UTC date, an hour before it
        threshold + datetime.timedelta(seconds=1),  # within however read
    )
    assert ami_questions(decision) == {
        "ami-1": ("reached", ["last_launched_boundary", "last_launched_delay"]),
        "ami-2": ("reached", ["last_launched_boundary", "last_launched_delay"]),
        "ami-3": ("kept", []),
    }
    # An image carries the cases of its AMIs, and nothing about the image itself is open.
    assert decision["action"] == "DEPRECATE"
    assert decision["open_questions"] == ["last_launched_boundary", "last_launched_delay"]


def test_an_ami_the_last_launched_rule_reaches_carries_ec2_s_one_day_delay():
    # Launched long ago, or never: a launch in the day before the preview, not yet reported, would keep it.
    decision = last_launched_decision(days_ago(90), None)
    assert ami_questions(decision) == {
        "ami-1": ("reached", ["last_launched_delay"]),
        "ami-2": ("reached", ["last_launched_delay"]),
    }


def test_an_ami_launched_between_the_two_readings_of_a_month_is_reached_and_carries_the_question():
    # Launched 28 February 12:00: within a calendar month of 31 March (28 February 02:00), not within 30 days.
    decision = last_launched_decision(utc(2026, 2, 28, 12), value=1, unit="MONTHS")
    assert ami_questions(decision)["ami-1"] == ("reached", ["last_launched_delay", "month_length"])


def test_a_delete_that_skips_an_ami_says_the_image_resource_may_be_retained():
    amis = [
        {"region": "us-east-1", "image": "ami-1", "public": True},
        {"region": "eu-west-1", "image": "ami-2", "public": False},
    ]
    imgs = [
        preview.image(ARN % 1, days_ago(400), amis=amis),
        preview.image(ARN % 2, days_ago(300), amis=amis[1:]),
    ]
    rule = delete({"type": "AGE", "value": 90, "unit": "DAYS"}, {"amis": True}, {"amis": {"isPublic": True}})
    decisions = preview.decide([rule], imgs, NOW)
    assert actions(decisions) == {"1": "DELETE", "2": "DELETE"}
    # Image 1's public AMI is skipped: StartResourceStateUpdate would keep the image resource; a policy's run may too.
    assert questions(decisions) == {"1": ["delete_with_skipped_amis"], "2": []}
    assert [ami_questions(entry) for entry in decisions][1] == {"ami-1": ("kept", []), "ami-2": ("reached", [])}


def test_without_include_resources_the_action_reaches_the_image_only():
    [decision] = preview.decide([delete({"type": "AGE", "value": 1, "unit": "DAYS"})], images(days_ago(9)), NOW)
    assert decision["resources"] == {"amis": [], "kept_amis": [], "snapshots": [], "containers": []}


# --- gathering: one listing per recipe name, or one for a tag selection, every page at the largest size -------------


@pytest.mark.parametrize(
    "wanted, version, matches",
    [
        ("1.x.x", "1.2.3", True),
        ("x.x.x", "9.0.0", True),
        ("1.2.x", "1.3.0", False),
        ("1.2.3", "1.2.30", False),
        # ImageSummary's version carries the build number.
        ("1.0.x", "1.0.2/3", True),
        ("1.0.3", "1.0.2/3", False),
    ],
)
def test_version_matches(wanted, version, matches):
    assert preview.version_matches(wanted, version) is matches


def test_recipes_one_listing_per_name_and_the_wanted_versions(client):
    c, stubber = client
    golden = [summary("golden-ami", version) for version in ("1.0.0", "1.2.0", "2.0.0")]
    listing(c, stubber, golden, "AMI", "golden-ami")
    listing(c, stubber, [summary("base", "3.1.4")], "AMI", "base")
    selection = {
        "recipes": [
            {"name": "golden-ami", "semanticVersion": "1.x.x"},
            {"name": "golden-ami", "semanticVersion": "1.2.0"},
            {"name": "base", "semanticVersion": "3.1.4"},
        ]
    }
    summaries = preview.selected_summaries(c, selection, "AMI_IMAGE")
    assert [s["arn"].split("image/")[1] for s in summaries] == [
        "golden-ami/1.0.0/1",
        "golden-ami/1.2.0/1",
        "base/3.1.4/1",
    ]


def test_tags_one_listing_and_any_of_the_tags_selects(client):
    c, stubber = client
    items = [
        summary("a", "1.0.0", tags={"lifecycle": "golden", "team": "ops"}),
        summary("b", "1.0.0", tags={"lifecycle": "golden"}),
        summary("c", "1.0.0", tags={"lifecycle": "other"}),
    ]
    listing(c, stubber, items, "DOCKER")
    summaries = preview.selected_summaries(c, {"tagMap": {"lifecycle": "golden", "team": "ops"}}, "CONTAINER_IMAGE")
    assert [s["name"] for s in summaries] == ["a", "b"]


def test_where_the_model_requires_the_version_arn_list_images_names_the_versions(client, monkeypatch):
    c, stubber = client
    monkeypatch.setattr(preview, "one_listing_for_all", lambda client: False)
    filters = [{"name": "type", "values": ["AMI"]}, {"name": "name", "values": ["golden-ami"]}]
    versions = [
        {"arn": VERSION_ARN % ("golden-ami", v), "name": "golden-ami", "version": v} for v in ("1.0.0", "1.1.0")
    ]
    stubber.add_response("list_images", {"imageVersionList": versions}, {"filters": filters, "maxResults": IMAGES_PAGE})
    for version in versions:
        builds(stubber, [summary("golden-ami", version["version"])], imageVersionArn=version["arn"])
    assert len(preview.list_image_build_versions(c, "AMI", "golden-ami")) == 2


def test_preview_image_from_a_summary_and_ec2_details():
    amis = [{"region": "us-east-1", "image": "ami-1"}, {"region": "eu-west-1", "image": "ami-2"}]
    details = {"ami-1": {"public": True, "shared_accounts": ["210987654321"], "snapshots": ["snap-1", "snap-2"]}}
    img = preview.preview_image(summary("golden-ami", "1.0.0", tags={"a": "b"}, amis=amis), details)
    assert img["status"] == "AVAILABLE"
    assert img["date_created"] == datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert img["tags"] == {"a": "b"}
    assert [(ami["image"], ami["public"], ami["shared_accounts"]) for ami in img["amis"]] == [
        ("ami-1", True, ["210987654321"]),
        ("ami-2", None, []),
    ]
    assert img["snapshots"] == [{"ami": "ami-1", "snapshot": "snap-1"}, {"ami": "ami-1", "snapshot": "snap-2"}]


def test_describe_amis_one_listing_per_batch_and_one_per_shared_account(ec2_client, monkeypatch):
    c, stubber = ec2_client
    monkeypatch.setattr(preview, "AMI_BATCH", 2)
    first, second = ["ami-0000000000000000a", "ami-0000000000000000b"], ["ami-0000000000000000c"]
    launched = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)
    page_one = [
        {
            "ImageId": first[0],
            "Public": True,
            "LastLaunchedTime": "2026-03-01T00:00:00Z",
            "Tags": [{"Key": "hold", "Value": "yes"}],
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-0000000000000000a"}}],
            "State": "available",
            "DeprecationTime": "2026-04-01T00:00:00Z",
            "DeregistrationProtection": "enabled",
        },
        {"ImageId": first[1], "Public": False, "State": "disabled"},
    ]
    described(stubber, first, page_one[:1], next_token="t")
    described(stubber, first, page_one[1:], NextToken="t")
    described(stubber, first, [{"ImageId": first[1]}], ExecutableUsers=["210987654321"])
    described(stubber, second, [{"ImageId": second[0]}])
    described(stubber, second, [], ExecutableUsers=["210987654321"])
    details = preview.describe_amis(c, "eu-west-1", second + first, ["210987654321"])
    assert details == {
        first[0]: {
            "public": True,
            "last_launched": launched,
            "tags": {"hold": "yes"},
            "snapshots": ["snap-0000000000000000a"],
            "shared_accounts": [],
            "state": "available",
            "deprecation_time": datetime.datetime(2026, 4, 1, tzinfo=datetime.timezone.utc),
            "deregistration_protection": "enabled",
        },
        first[1]: {
            "public": False,
            "last_launched": None,
            "tags": {},
            "snapshots": [],
            "shared_accounts": ["210987654321"],
            "state": "disabled",
            "deprecation_time": None,
            "deregistration_protection": None,
        },
        second[0]: {
            "public": False,
            "last_launched": None,
            "tags": {},
            "snapshots": [],
            "shared_accounts": [],
            "state": None,
            "deprecation_time": None,
            "deregistration_protection": None,
        },
    }


def test_a_denied_describe_images_names_the_region(ec2_client):
    c, stubber = ec2_client
    stubber.add_client_error("describe_images", service_error_code="UnauthorizedOperation", http_status_code=403)
    with pytest.raises(common.ImageBuilderError) as caught:
        preview.describe_amis(c, "eu-west-1", ["ami-0000000000000000a"])
    assert caught.value.message == "Failed to describe the AMIs of the selected images in eu-west-1"


def test_a_whole_preview_reads_ec2_only_for_the_regions_of_the_selected_amis(client, ec2_client):
    c, stubber = client
    ec2, ec2_stubber = ec2_client
    old = summary("golden-ami", "1.0.0", 1, "2025-01-01T00:00:00Z", amis=[{"region": "eu-west-1", "image": "ami-1"}])
    new = summary("golden-ami", "1.0.0", 2, "2026-03-30T00:00:00Z", amis=[{"region": "eu-west-1", "image": "ami-2"}])
    listing(c, stubber, [new, old], "AMI", "golden-ami")
    found = [
        {"ImageId": "ami-1", "BlockDeviceMappings": [{"Ebs": {"SnapshotId": "snap-1"}}]},
        {"ImageId": "ami-2", "Public": True},
    ]
    described(ec2_stubber, ["ami-1", "ami-2"], found)
    regions = []
    policy = {
        "resourceType": "AMI_IMAGE",
        "resourceSelection": {"recipes": [{"name": "golden-ami", "semanticVersion": "1.0.0"}]},
        "policyDetails": [
            {
                "action": {"type": "DELETE", "includeResources": {"amis": True, "snapshots": True}},
                "filter": {"type": "AGE", "value": 6, "unit": "MONTHS"},
                "exclusionRules": {"amis": {"isPublic": True}},
            }
        ],
    }
    result = preview.preview_policy(c, lambda region: regions.append(region) or ec2, policy, NOW)
    assert regions == ["eu-west-1"]
    assert [(entry["arn"][-1], entry["action"]) for entry in result["images"]] == [("2", None), ("1", "DELETE")]
    assert result["images"][1]["resources"]["snapshots"] == [{"ami": "ami-1", "snapshot": "snap-1"}]
    assert result["summary"] == {"DEPRECATE": 0, "DISABLE": 0, "DELETE": 1, "none": 1}
    assert result["open_questions"] == []


def test_a_preview_that_reaches_no_ami_makes_no_ec2_call_and_reads_each_image_s_state(client):
    c, stubber = client
    # Their AMIs are known to Image Builder; the delete rule has AMI exclusions but does not include the AMIs, so no
    # detail needs what EC2 says of them.
    ami = [{"region": "eu-west-1", "image": "ami-1"}]
    items = [
        summary("a", "1.0.0", created="2026-01-01T00:00:00Z", amis=ami),
        summary("b", "1.0.0", created="2026-02-01T00:00:00Z", amis=ami),
        summary("b", "1.0.0", 2, created="2026-03-01T00:00:00Z", amis=ami),
    ]
    items[0]["state"] = {"status": "DEPRECATED"}
    listing(c, stubber, items, "AMI")
    policy = {
        "resourceType": "AMI_IMAGE",
        "resourceSelection": {"tagMap": {"lifecycle": "golden"}},
        "policyDetails": [
            {"action": {"type": "DEPRECATE"}, "filter": {"type": "AGE", "value": 1, "unit": "DAYS"}},
            {
                "action": {"type": "DELETE"},
                "filter": {"type": "COUNT", "value": 1},
                "exclusionRules": {"amis": {"isPublic": True}},
            },
        ],
    }
    for item in items:
        item["tags"] = {"lifecycle": "golden"}
    result = preview.preview_policy(c, lambda region: pytest.fail("no EC2 client is needed"), policy, NOW)
    # a/1.0.0/1 is deprecated already: the deprecate rule skips it. Counted per version across recipes (a tag
    # selection) and with the two images deprecated in this run in its slots, it is the third of 1.0.0: deleted,
    # and both open cases are said.
    assert [(entry["arn"].split("image/")[1], entry["action"]) for entry in result["images"]] == [
        ("b/1.0.0/2", "DEPRECATE"),
        ("b/1.0.0/1", "DEPRECATE"),
        ("a/1.0.0/1", "DELETE"),
    ]
    assert result["images"][2]["reasons"][0]["reason"] == "already deprecated: a deprecate rule skips it"
    assert result["images"][2]["open_questions"] == ["retention_after_higher_priority", "tag_selection_groups"]
    assert result["open_questions"] == ["retention_after_higher_priority", "tag_selection_groups"]


def test_an_ami_ec2_does_not_return_is_shown_reached_and_the_open_case_said(client, ec2_client):
    c, stubber = client
    ec2, ec2_stubber = ec2_client
    amis = [
        {"region": "eu-west-1", "image": "ami-1"},
        {"region": "eu-west-1", "image": "ami-2", "accountId": "210987654321"},
    ]
    listing(
        c, stubber, [summary("golden-ami", "1.0.0", created="2025-01-01T00:00:00Z", amis=amis)], "AMI", "golden-ami"
    )
    described(ec2_stubber, ["ami-1", "ami-2"], [{"ImageId": "ami-1", "Public": True}])
    policy = {
        "resourceType": "AMI_IMAGE",
        "resourceSelection": {"recipes": [{"name": "golden-ami", "semanticVersion": "1.0.0"}]},
        "policyDetails": [
            delete({"type": "AGE", "value": 1, "unit": "DAYS"}, {"amis": True}, {"amis": {"isPublic": True}})
        ],
    }
    result = preview.preview_policy(c, lambda region: ec2, policy, NOW)
    [entry] = result["images"]
    # ami-2, another account's copy, is not this account's to describe: whether it is public is unknown.
    assert entry["resources"]["amis"] == [
        {"image": "ami-2", "region": "eu-west-1", "account_id": "210987654321", "open_questions": ["ami_not_described"]}
    ]
    assert [ami["image"] for ami in entry["resources"]["kept_amis"]] == ["ami-1"]
    # The image's own delete keeps or not its resource as ami-1 is skipped: a case of its own.
    assert result["open_questions"] == ["ami_not_described", "delete_with_skipped_amis"]


def test_an_image_build_version_without_a_creation_date_is_not_evaluated_and_said(client):
    c, stubber = client
    undated = summary("golden-ami", "1.0.0")
    del undated["dateCreated"]
    listing(c, stubber, [undated], "AMI", "golden-ami")
    policy = {
        "resourceType": "AMI_IMAGE",
        "resourceSelection": {"recipes": [{"name": "golden-ami", "semanticVersion": "1.0.0"}]},
        "policyDetails": [delete({"type": "COUNT", "value": 1})],
    }
    result = preview.preview_policy(c, lambda region: pytest.fail("no EC2 client is needed"), policy, NOW)
    assert result["images"] == [] and result["open_questions"] == ["undated_image"]


def test_a_container_image_summary_gives_its_repository_images():
    item = summary("app", "1.0.0")
    uris = ["123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0.0-1"]
    item["outputResources"] = {"containers": [{"region": "us-east-1", "imageUris": uris}]}
    img = preview.preview_image(item)
    assert img["containers"] == [{"region": "us-east-1", "image_uris": uris}] and img["amis"] == []


def test_a_container_image_s_action_lists_its_repository_images_as_an_execution_would():
    uris = ["123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0.0-1"]
    img = preview.image(ARN % 1, days_ago(30), containers=[{"region": "us-east-1", "image_uris": uris}])
    details = [delete({"type": "AGE", "value": 7, "unit": "DAYS"}, include={"containers": True})]
    acted_on, kept = preview.as_resources(details, preview.decide(details, [img], NOW))
    assert kept == []
    assert acted_on[0]["child_resources"] == [
        {"resource_id": uris[0], "region": "us-east-1", "image_uris": uris, "action": {"name": "DELETE"}}
    ]
    assert acted_on[0]["excluded_resources"] == []
