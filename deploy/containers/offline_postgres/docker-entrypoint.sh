#!/usr/bin/env bash
# First start: initdb with POSTGRES_USER/POSTGRES_PASSWORD, create POSTGRES_DB. Then serve.
set -euo pipefail
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-${POSTGRES_USER}}

if [[ ! -s "${PGDATA}/PG_VERSION" ]]; then
    pwfile=$(mktemp)
    printf '%s' "${POSTGRES_PASSWORD}" >"${pwfile}"
    initdb --pgdata="${PGDATA}" --username="${POSTGRES_USER}" --pwfile="${pwfile}" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
    rm -f "${pwfile}"
    echo "host all all all scram-sha-256" >>"${PGDATA}/pg_hba.conf"
    if [[ "${POSTGRES_DB}" != "postgres" ]]; then
        pg_ctl --pgdata="${PGDATA}" --options="-c listen_addresses=''" --wait start >/dev/null
        createdb --username="${POSTGRES_USER}" "${POSTGRES_DB}"
        pg_ctl --pgdata="${PGDATA}" --mode=fast --wait stop >/dev/null
    fi
    echo "initialised ${PGDATA}: user ${POSTGRES_USER}, database ${POSTGRES_DB}"
fi
if [[ "${1:-}" == "postgres" ]]; then
    shift
    exec postgres -D "${PGDATA}" -c listen_addresses='*' "$@"
fi
exec "$@"
