#!/usr/bin/env bash
# The project's two entry points for a newcomer (see README.md):
#   ./run.sh demo   set everything up, bring the sandbox up, run the cutover on it
#   ./run.sh test   set everything up and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

need_root_for() {
    if [ "$(id -u)" != 0 ]; then
        echo "error: $1 needs root (it installs Debian packages and creates the sandbox's host accounts)" >&2
        exit 1
    fi
}

setup() {
    if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "error: python3 3.11 or newer is needed (found: $(python3 --version 2>&1))" >&2
        exit 1
    fi
    # Our venv, and the sandbox sites' (they run as unprivileged accounts on Debian's
    # own Python), need the venv module; `invoke sandbox.up` installs openssh-server.
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null || ! /usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null; then
        need_root_for "installing python3-venv"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    fi
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    # Reinstall only when the project's dependencies changed.
    local stamp=.venv/.media-cutover-installed
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        .venv/bin/pip install -q -e '.[test]'
        touch "$stamp"
    fi
}

case "${1:-}" in
    demo)
        need_root_for "the sandbox"
        setup
        .venv/bin/invoke sandbox.up
        .venv/bin/invoke cutover --env=sandbox
        ;;
    test)
        need_root_for "the integration tests' sandbox"
        setup
        shift
        if [ $# -gt 0 ]; then
            exec .venv/bin/pytest "$@"
        fi
        # The whole suite.  The sandbox first, as the integration tests' fixture brings it up (tests/integration/
        # conftest.py: 400 files; it then finds it up): the unit tests that run programs in a real Django find
        # its site virtualenv, where a fresh clone had none when they were collected.  Then the unit tests beside
        # the integration tests (no port, file or account of the sandbox is theirs; the integration tests
        # mostly wait on it), their report after the integration tests'.
        .venv/bin/invoke sandbox.up --media-files=400
        unit_report=$(mktemp)
        .venv/bin/pytest tests/unit -p no:cacheprovider >"$unit_report" 2>&1 &
        unit=$!
        status=0
        .venv/bin/pytest tests/integration || status=$?
        unit_status=0
        wait "$unit" || unit_status=$?
        echo "==================== the unit tests (run beside the integration tests) ===================="
        cat "$unit_report"
        rm -f "$unit_report"
        if [ "$status" = 0 ]; then status=$unit_status; fi
        exit "$status"
        ;;
    *)
        echo "usage: ./run.sh demo | ./run.sh test [pytest args]" >&2
        exit 2
        ;;
esac
