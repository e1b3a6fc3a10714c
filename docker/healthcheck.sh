#!/usr/bin/env bash
# Health of whichever Airflow component this container runs: the same checks as the ECS task
# definitions (cloudformation/airflow.yml) and docker-compose-local.yml, for `docker run` users.
# The component is AIRFLOW_COMPONENT if set, else the first component name in the command of
# PID 1 (the official entrypoint: dumb-init -- /entrypoint <command>). One-shot commands
# (db migrate) and non-Airflow commands have no health of their own and report healthy.
set -euo pipefail

component="${AIRFLOW_COMPONENT:-}"
if [[ -z "${component}" && -r /proc/1/cmdline ]]; then
    # cmdline has no trailing newline: read fills argv and then reports end of file
    read -r -a argv < <(tr '\0' ' ' </proc/1/cmdline) || true
    for word in "${argv[@]}"; do
        case "${word}" in
            api-server | scheduler | dag-processor | triggerer)
                component="${word}"
                break
                ;;
        esac
    done
fi

case "${component}" in
    api-server) exec curl --fail --silent --show-error http://localhost:8080/api/v2/monitor/health ;;
    scheduler) exec airflow jobs check --job-type SchedulerJob --local ;;
    dag-processor) exec airflow jobs check --job-type DagProcessorJob --local ;;
    triggerer) exec airflow jobs check --job-type TriggererJob --local ;;
    *) exit 0 ;;
esac
