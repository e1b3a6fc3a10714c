"""airflow.yml's RDS PostgreSQL metadata database."""

from __future__ import annotations

import re


def database(rendered):
    return rendered.resources["Database"]["Properties"]


def test_postgres_17_encrypted_private(render):
    props = database(render("airflow", "prod"))
    assert props["Engine"] == "postgres"
    assert re.fullmatch(r"17\.\d+", props["EngineVersion"])
    assert props["StorageEncrypted"] is True
    assert props["PubliclyAccessible"] is False


def test_master_credentials_come_from_a_stack_secret_that_never_rotates_on_a_timer(render):
    """Components read DB_USER/DB_PASSWORD once at start: RDS's managed secret rotates every 7
    days and would lock every running task out. The stack's own secret has no rotation."""
    rendered = render("airflow", "prod")
    props = database(rendered)
    assert "ManageMasterUserPassword" not in props
    for prop, key in (("MasterUsername", "username"), ("MasterUserPassword", "password")):
        assert props[prop] == {
            "Fn::Sub": "{{resolve:secretsmanager:${DatabaseSecret}:SecretString:" + key + "}}"
        }
    secret = rendered.resources["DatabaseSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "password"
    assert generated["PasswordLength"] >= 32
    assert not [
        r for r in rendered.resources.values() if r["Type"].startswith("AWS::SecretsManager::Rot")
    ]
    outputs = rendered.template["Outputs"]
    assert outputs["DatabaseSecretArn"]["Value"] == {"Ref": "DatabaseSecret"}


def test_prod_keeps_deletion_protection_and_a_week_of_backups(render):
    props = database(render("airflow", "prod"))
    assert props["DeletionProtection"] == "true"
    assert props["BackupRetentionPeriod"] == "7"
    assert props["MultiAZ"] == "false"
    assert render("airflow", "prod").resources["Database"]["DeletionPolicy"] == "Snapshot"


def test_dev_can_be_destroyed(render):
    assert database(render("airflow", "dev"))["DeletionProtection"] == "false"


def test_database_sits_in_private_subnets_behind_its_own_group(render):
    rendered = render("airflow", "dev")
    subnet_group = rendered.resources["DatabaseSubnetGroup"]["Properties"]
    assert subnet_group["SubnetIds"]["Fn::Split"][1] == {
        "Fn::ImportValue": {"Fn::Sub": "${EnvironmentName}-PrivateSubnetIds"}
    }
    group = rendered.resources["DatabaseSecurityGroup"]["Properties"]
    (ingress,) = group["SecurityGroupIngress"]
    assert ingress["FromPort"] == ingress["ToPort"] == 5432
    assert ingress["SourceSecurityGroupId"] == {"Ref": "ServiceSecurityGroup"}
    assert "CidrIp" not in ingress


def test_no_password_parameter_anywhere(raw):
    for stack, template in raw.items():
        for name, spec in template.get("Parameters", {}).items():
            assert "password" not in name.lower(), (stack, name)
            assert spec.get("NoEcho") is None, (stack, name)


def test_database_log_export_expires_and_iam_auth_is_off(render):
    rendered = render("airflow", "prod")
    props = database(rendered)
    assert props["EnableIAMDatabaseAuthentication"] is False  # unused: Airflow signs in by password
    assert props["EnableCloudwatchLogsExports"] == ["postgresql"]
    # RDS exports into /aws/rds/instance/<id>/postgresql, creating it (never expiring) if absent
    group = rendered.resources["DatabaseLogGroup"]["Properties"]
    instance = props["DBInstanceIdentifier"]["Fn::Sub"]
    assert group["LogGroupName"]["Fn::Sub"] == f"/aws/rds/instance/{instance}/postgresql"
    assert (
        group["RetentionInDays"]
        == rendered.resources["TaskLogGroup"]["Properties"]["RetentionInDays"]
    )
    assert rendered.resources["Database"]["DependsOn"] == "DatabaseLogGroup"
