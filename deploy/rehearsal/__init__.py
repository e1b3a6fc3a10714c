"""The deploy rehearsal: `make rehearse` (docs/deploy.md, "Rehearse before you deploy")."""

# What `make rehearse` runs: a profile with an executor. prod-ecs rehearses the ECS executor's
# worker task definition: each Airflow task a task of its own, started through RunTask.
VARIANTS = {
    "prod": ("prod", "LocalExecutor"),
    "dev": ("dev", "LocalExecutor"),
    "prod-ecs": ("prod", "AwsEcsExecutor"),
}
