"""The deploy rehearsal: `make rehearse` (docs/deploy.md, "Rehearse before you deploy")."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    profile: str
    executor: str
    dag_delivery: str = "image"
    git_over_ssh: bool = False  # git-bundle: an SSH URL and key, else HTTPS and a token


# What `make rehearse` runs: a profile with an executor and a DAG delivery. prod-ecs rehearses
# the ECS executor's worker task definition: each Airflow task a task of its own, started
# through RunTask. dev-git reads the DAGs from a git host (a stand-in on the rehearsal network)
# with the token of the stack's GitConnectionSecretArn; dev-git-ssh over SSH with the key of that
# connection, the host's key pinned by GitSshKnownHosts.
VARIANTS = {
    "prod": Variant("prod", "LocalExecutor"),
    "dev": Variant("dev", "LocalExecutor"),
    "prod-ecs": Variant("prod", "AwsEcsExecutor"),
    "dev-git": Variant("dev", "LocalExecutor", "git-bundle"),
    "dev-git-ssh": Variant("dev", "LocalExecutor", "git-bundle", git_over_ssh=True),
}
