#!/bin/sh
# Red Global MX in production: install and first start. README.md ("Running in production") and
# docs/deploy.md quote these lines; CI runs this very file (.ci/production-smoke) on PostgreSQL
# with Redis rate limits, so what the docs say is what was run.
#
# Run it in the checkout, as the service's user, with the settings in the environment
# (docs/deploy.md, section 6: REDGLOBAL_ENV=production, SECRET_KEY, DATABASE_URL,
# RATELIMIT_STORAGE_URI, MAIL_*, TRUSTED_PROXIES, BASE_URL, ...) and the first IME administrator
# in IME_ADMIN_EMAIL, IME_ADMIN_NAME and IME_ADMIN_PASSWORD (on the first start; without them no
# administrator is created). Every step can run again (after an upgrade, say). It ends by starting gunicorn in the foreground; with --setup-only it stops before,
# for a service manager to start gunicorn (docs/deploy.md has the systemd unit). BIND changes the
# address gunicorn listens on (127.0.0.1:8000).
set -eu
cd "$(dirname "$0")/.."

# 1. Install: a virtual environment with every package pinned and hash-checked
#    (requirements.lock), then the project itself. (`make install` does the same with uv, faster.)
test -x .venv/bin/python || python3 -m venv .venv
.venv/bin/pip install --quiet --require-hashes -r requirements.lock
.venv/bin/pip install --quiet --no-deps -e .

# 2. The compiled catalogues: they are not in git, and without them the site is in English.
.venv/bin/pybabel compile --use-fuzzy -d network/translations

# 3. The database, the network's structure (4 regions, 32 nodes) and the expertise vocabulary.
.venv/bin/flask --app wsgi db upgrade
.venv/bin/flask --app wsgi chapters load-structure
.venv/bin/flask --app wsgi vocabulary load

# 4. The first IME administrator (an existing account is left as it is; without IME_ADMIN_EMAIL,
#    e.g. for an upgrade, this step is skipped).
if [ -z "${IME_ADMIN_EMAIL:-}" ]; then
    echo "IME_ADMIN_EMAIL is not set: no IME administrator created"
elif ! out=$(.venv/bin/flask --app wsgi users create "$IME_ADMIN_EMAIL" --name "$IME_ADMIN_NAME" --password "$IME_ADMIN_PASSWORD" --role ime 2>&1); then
    case $out in
        *"already exists"*) echo "IME administrator $IME_ADMIN_EMAIL: the account exists" ;;
        *) echo "$out" >&2; exit 1 ;;
    esac
else
    echo "$out"
fi

# 5. The search index: built on the first start, left alone afterwards.
.venv/bin/flask --app wsgi search reindex --if-empty

[ "${1:-}" = --setup-only ] && exit 0

# 6. The app: 2 workers (see docs/deploy.md for sizing), behind nginx for TLS.
# network.serving: each worker warms its search and directory caches before its first request.
exec .venv/bin/gunicorn --config python:network.serving --workers 2 --bind "${BIND:-127.0.0.1:8000}" --no-control-socket wsgi:app
