"""merge_lifecycle and lifecycle_rules as plain values: no S3, no clock.

The contract suite covers the round trip through a bucket; these cover the shapes
other S3-compatible services return and the edges moto never produces.
"""

from __future__ import annotations

from typing import Any

import pytest

from inbound.retention import lifecycle_rules
from inbound.storage.base import LIFECYCLE_ID_PREFIX, LifecycleRule
from inbound.storage.s3 import merge_lifecycle

RAW = LifecycleRule(id="inbound-raw", prefix="raw/", days=7)
FOREIGN: dict[str, Any] = {
    "ID": "archive",
    "Filter": {"And": {"Prefix": "raw/", "Tags": [{"Key": "k", "Value": "v"}]}},
    "Status": "Enabled",
    "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}],
}


def test_lifecycle_rules_cover_raw_attachments_and_events() -> None:
    rules = lifecycle_rules(7, 30)
    assert [(r.id, r.prefix, r.days) for r in rules] == [
        ("inbound-raw", "raw/", 7),
        ("inbound-attachments", "attachments/", 7),
        ("inbound-events", "events/", 30),
    ]


def test_lifecycle_rules_name_the_store_prefix() -> None:
    rules = lifecycle_rules(3, 9, "prod/")
    assert [(r.id, r.prefix, r.days) for r in rules] == [
        ("inbound-prod/raw", "prod/raw/", 3),
        ("inbound-prod/attachments", "prod/attachments/", 3),
        ("inbound-prod/events", "prod/events/", 9),
    ]


def test_lifecycle_rule_ids_stay_within_the_s3_limit() -> None:
    rules = lifecycle_rules(7, 30, "p" * 300 + "/")
    assert all(len(r.id) <= 255 and r.id.startswith(LIFECYCLE_ID_PREFIX) for r in rules)
    assert len({r.id for r in rules}) == 3
    assert rules[0].prefix == "p" * 300 + "/raw/"


@pytest.mark.parametrize(("raw_days", "event_days"), [(0, 30), (7, 0)])
def test_lifecycle_rules_refuse_zero_days(raw_days: int, event_days: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        lifecycle_rules(raw_days, event_days)


def test_merge_into_an_empty_configuration_adds() -> None:
    merged, lines, changed = merge_lifecycle([], [RAW])
    assert changed
    assert merged == [
        {
            "ID": "inbound-raw",
            "Filter": {"Prefix": "raw/"},
            "Status": "Enabled",
            "Expiration": {"Days": 7},
        }
    ]
    assert lines == ["added inbound-raw: raw/ expires after 7 days"]


def test_merge_keeps_foreign_rules_untouched_and_in_place() -> None:
    merged, lines, changed = merge_lifecycle([FOREIGN], [RAW])
    assert changed
    assert merged[0] == FOREIGN
    assert lines[-1] == "kept 1 rule(s) inbound did not create"


def test_merge_accepts_the_legacy_top_level_prefix_as_unchanged() -> None:
    legacy = {"ID": "inbound-raw", "Prefix": "raw/", "Status": "Enabled", "Expiration": {"Days": 7}}
    merged, lines, changed = merge_lifecycle([legacy], [RAW])
    assert not changed
    assert merged == [legacy]
    assert lines == ["unchanged inbound-raw: raw/ expires after 7 days"]


@pytest.mark.parametrize(
    "edit",
    [
        {"Status": "Disabled"},
        {"Expiration": {"Days": 1}},
        {"Expiration": {"Date": "2030-01-01T00:00:00Z"}},
        {"Filter": {"Prefix": "raw/2026/"}},
        {"Filter": {"And": {"Prefix": "raw/", "ObjectSizeGreaterThan": 10}}},
        {"Transitions": [{"Days": 1, "StorageClass": "GLACIER"}]},
    ],
)
def test_merge_resets_an_edited_inbound_rule(edit: dict[str, Any]) -> None:
    mine = {
        "ID": "inbound-raw",
        "Filter": {"Prefix": "raw/"},
        "Status": "Enabled",
        "Expiration": {"Days": 7},
    }
    merged, lines, changed = merge_lifecycle([{**mine, **edit}], [RAW])
    assert changed
    assert merged == [mine]
    assert lines[0].startswith("updated inbound-raw: raw/ expires after 7 days (was: ")


def test_merge_leaves_other_inbound_rules_alone() -> None:
    other = {
        "ID": "inbound-staging/raw",
        "Filter": {"Prefix": "staging/raw/"},
        "Status": "Enabled",
        "Expiration": {"Days": 1},
    }
    merged, lines, changed = merge_lifecycle([other], [RAW])
    assert merged[0] == other
    assert "left alone inbound-staging/raw: not in this configuration" in lines
    assert changed  # RAW was added


def test_merge_collapses_a_duplicated_inbound_rule() -> None:
    mine = {
        "ID": "inbound-raw",
        "Filter": {"Prefix": "raw/"},
        "Status": "Enabled",
        "Expiration": {"Days": 7},
    }
    merged, _, changed = merge_lifecycle([mine, dict(mine)], [RAW])
    assert changed
    assert merged == [mine]


def test_merge_refuses_rules_without_the_inbound_id_prefix() -> None:
    with pytest.raises(ValueError, match="lack"):
        merge_lifecycle([], [LifecycleRule(id="raw", prefix="raw/", days=7)])


def test_merge_in_a_versioned_bucket_also_expires_noncurrent_versions() -> None:
    merged, lines, changed = merge_lifecycle([], [RAW], versioned=True)
    assert changed
    assert merged == [
        {
            "ID": "inbound-raw",
            "Filter": {"Prefix": "raw/"},
            "Status": "Enabled",
            "Expiration": {"Days": 7},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        }
    ]
    assert lines == ["added inbound-raw: raw/ expires after 7 days, older versions 1 day after"]
    # Written once, it is unchanged the next time; the plain rule of an unversioned
    # bucket is updated once versioning is turned on, and the other way round.
    assert merge_lifecycle(merged, [RAW], versioned=True)[2] is False
    plain, _, _ = merge_lifecycle([], [RAW])
    assert merge_lifecycle(plain, [RAW], versioned=True)[2] is True
    assert merge_lifecycle(merged, [RAW])[2] is True


def test_merge_resets_an_edited_noncurrent_expiry_in_a_versioned_bucket() -> None:
    merged, _, _ = merge_lifecycle([], [RAW], versioned=True)
    edited = {**merged[0], "NoncurrentVersionExpiration": {"NoncurrentDays": 90}}
    again, lines, changed = merge_lifecycle([edited], [RAW], versioned=True)
    assert changed and again == merged
    assert lines[0].startswith("updated inbound-raw")
