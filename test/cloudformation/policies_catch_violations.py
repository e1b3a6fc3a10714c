"""Prove the custom checkov policies fail what they are meant to fail (run by `tox -e cfn`).

A policy with a wrong attribute path passes silently (FINDINGS), so a clean scan of our templates
proves nothing alone: here each policy must flag exactly the resources of violations.yml that
break it, and none of the compliant ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
REPO = HERE.parent.parent
EXPECTED_FAILURES = {
    ("CKV2_AFS_1", "AWS::ECS::Service.PublicService"),
    ("CKV2_AFS_2", "AWS::EC2::SecurityGroup.OpenGroup"),
    ("CKV2_AFS_2", "AWS::EC2::SecurityGroup.V6Group"),
    ("CKV2_AFS_3", "AWS::ECS::TaskDefinition.NoLogs"),
    ("CKV2_AFS_4", "AWS::RDS::DBInstance.Db"),
    ("CKV2_AFS_4", "AWS::RDS::DBInstance.DbOff"),
    ("CKV2_AFS_5", "AWS::EC2::SecurityGroupIngress.OpenIngress"),
    ("CKV2_AFS_6", "AWS::SQS::Queue.PlainQueue"),
    ("CKV2_AFS_6", "AWS::SQS::Queue.QueueSseOff"),
    ("CKV2_AFS_7", "AWS::SNS::Topic.PlainTopic"),
    ("CKV2_AFS_7", "AWS::SNS::Topic.ManagedKeyTopic"),
    ("CKV2_AFS_7", "AWS::SNS::Topic.ManagedKeyArnTopic"),
    ("CKV2_AFS_8", "AWS::CloudWatch::Alarm.SilentAlarm"),
}
CUSTOM_CHECKS = sorted({check for check, _ in EXPECTED_FAILURES})


def failed_checks() -> set[tuple[str, str]]:
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            sys.executable,
            "-m",
            "checkov.main",
            "--framework",
            "cloudformation",
            "-d",
            str(HERE / "policy_violations"),
            "--external-checks-dir",
            str(REPO / "cloudformation" / "policies"),
            "--check",
            ",".join(CUSTOM_CHECKS),
            "--skip-download",
            "--quiet",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    return {(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]}


def main() -> int:
    found = failed_checks()
    missed, unexpected = EXPECTED_FAILURES - found, found - EXPECTED_FAILURES
    for check, resource in sorted(missed):
        print(f"policy {check} did not flag {resource} in policy_violations/violations.yml")
    for check, resource in sorted(unexpected):
        print(f"policy {check} flagged {resource}, which complies")
    if missed or unexpected:
        return 1
    print(f"custom policies flag all {len(EXPECTED_FAILURES)} planted violations, nothing else")
    return 0


if __name__ == "__main__":
    sys.exit(main())
