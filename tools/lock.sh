set -e
cd "$(dirname "$0")/.."
rm -rf "${TMPDIR:-/tmp}"/inbound-lock-rt "${TMPDIR:-/tmp}"/inbound-lock-test
python3 -m venv "${TMPDIR:-/tmp}"/inbound-lock-rt && "${TMPDIR:-/tmp}"/inbound-lock-rt/bin/pip install -q . 2>&1 | grep -v WARN || true
python3 -m venv "${TMPDIR:-/tmp}"/inbound-lock-test && "${TMPDIR:-/tmp}"/inbound-lock-test/bin/pip install -q '.[test]' 2>&1 | grep -v WARN || true
{ echo "# Runtime dependencies, exactly as tested (pip freeze of a fresh venv after 'pip install .')."; echo "# Regenerate with: bash tools/lock.sh"; "${TMPDIR:-/tmp}"/inbound-lock-rt/bin/pip freeze --exclude inbound | grep -v '^-e'; } > requirements.lock
{ echo "# Runtime + test dependencies, exactly as tested (pip freeze after \"pip install '.[test]'\")."; echo "# Regenerate with: bash tools/lock.sh"; "${TMPDIR:-/tmp}"/inbound-lock-test/bin/pip freeze --exclude inbound | grep -v '^-e'; } > requirements-test.lock
wc -l requirements*.lock
