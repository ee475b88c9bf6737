#!/usr/bin/env bash
# `make bench`: seed a large data set, serve it with gunicorn + a Celery worker on
# PostgreSQL and Redis, load every page of bench/pages.py with locust as logged-in
# users, and report requests/s, latency percentiles, queries per request and peak
# memory. Knobs (environment): see the "Benchmarks" section of README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PY:-$ROOT/.venv/bin/python}
BIN=$(dirname "$PY")

BENCH_DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/baton_bench}
BENCH_REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/14}
BENCH_SCALE=${BENCH_SCALE:-1}
BENCH_SECONDS=${BENCH_SECONDS:-30}
BENCH_USERS=${BENCH_USERS:-8}
export BENCH_WARMUP_SECONDS=${BENCH_WARMUP_SECONDS:-3}
BENCH_PORT=${BENCH_PORT:-8106}
BENCH_WEB_WORKERS=${BENCH_WEB_WORKERS:-3}
BENCH_WORKER_CONCURRENCY=${BENCH_WORKER_CONCURRENCY:-2}
BENCH_PAGES=${BENCH_PAGES:-}          # a regular expression: only pages whose label matches
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}

# Production settings, over plain HTTP on loopback only.
export DJANGO_SETTINGS_MODULE=config.settings.production
export DATABASE_URL=$BENCH_DATABASE_URL
export REDIS_URL=$BENCH_REDIS_URL
export SECRET_KEY=${BENCH_SECRET_KEY:-bench-only-secret-key-never-used-in-production-0123456789abcdef}
export ALLOWED_HOSTS=127.0.0.1,localhost
export SECURE_SSL_REDIRECT=false
export DEBUG=false
export LOG_LEVEL=WARNING
export EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend
export BATON_VAR_DIR=$ROOT/var/bench
export SITE_URL=http://127.0.0.1:$BENCH_PORT

mkdir -p "$RESULTS/raw" "$RESULTS/logs" "$BATON_VAR_DIR"
rm -f "$RESULTS"/raw/*.json "$RESULTS/memory.json" "$RESULTS/plan.json"

./.ci/services

database_name=${BENCH_DATABASE_URL##*/}
database_name=${database_name%%\?*}
server_url=${BENCH_DATABASE_URL%/*}/postgres
if [ "$(psql "$server_url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$database_name'")" != "1" ]; then
  echo "Creating the database $database_name"
  psql "$server_url" -qc "CREATE DATABASE \"$database_name\""
fi
"$PY" manage.py migrate --noinput -v 0

seed_seconds=""
if [ "${BENCH_SKIP_SEED:-0}" != "1" ]; then
  began=$(date +%s)
  "$PY" manage.py seed_bench --scale "$BENCH_SCALE" | tee "$RESULTS/logs/seed.log"
  seed_seconds=$(( $(date +%s) - began ))
else
  echo "BENCH_SKIP_SEED=1: using the data already in $database_name"
fi
# The report and dashboard read the snapshot the worker keeps; build it once now, as the
# beat entry would within five minutes, so they are measured on real figures.
echo "Building the dropped-baton snapshot (report_refresh)"
"$PY" manage.py shell -v 0 -c "from followups.services.report import report_refresh; print(report_refresh())"
"$PY" manage.py collectstatic --noinput -v 0

echo "Counting queries per page (Django test client, warm, first bench user of each role)"
"$PY" -m bench.queries --out "$RESULTS/plan.json" --users "$BENCH_USERS"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

"$BIN/gunicorn" config.wsgi:application --bind "127.0.0.1:$BENCH_PORT" --workers "$BENCH_WEB_WORKERS" \
  --worker-class sync --log-level warning >"$RESULTS/logs/gunicorn.log" 2>&1 &
web_pid=$!
pids+=("$web_pid")
"$BIN/celery" -A config worker --loglevel=WARNING --concurrency="$BENCH_WORKER_CONCURRENCY" \
  --without-mingle --without-gossip --hostname "bench@%h" >"$RESULTS/logs/celery.log" 2>&1 &
worker_pid=$!
pids+=("$worker_pid")

for _ in $(seq 1 60); do
  curl -fs -o /dev/null "http://127.0.0.1:$BENCH_PORT/health/" && break
  sleep 0.5
done
curl -fs -o /dev/null "http://127.0.0.1:$BENCH_PORT/health/" || {
  echo "gunicorn did not answer on 127.0.0.1:$BENCH_PORT; see $RESULTS/logs/gunicorn.log" >&2
  exit 1
}
kill -0 "$worker_pid" || { echo "the Celery worker died; see $RESULTS/logs/celery.log" >&2; exit 1; }

"$PY" bench/memwatch.py --out "$RESULTS/memory.json" "web=$web_pid" "worker=$worker_pid" &
pids=("$!" "${pids[@]}")

# One locust run per page that exists, the ceiling first, in plan order.
"$PY" -c '
import json, re, sys
plan = json.load(open(sys.argv[1]))
only = re.compile(sys.argv[2]) if sys.argv[2] else None
for index, page in enumerate(plan["pages"]):
    if page["status"] == "ok" and (page["is_ceiling"] or only is None or only.search(page["label"])):
        print("%02d\t%s" % (index, page["label"]))
' "$RESULTS/plan.json" "$BENCH_PAGES" >"$RESULTS/logs/pages.tsv"

while IFS=$'\t' read -r index label; do
  echo "Loading: $label (${BENCH_SECONDS} s, $BENCH_USERS users)"
  BENCH_PLAN="$RESULTS/plan.json" BENCH_PAGE="$label" BENCH_SECONDS="$BENCH_SECONDS" BENCH_USERS="$BENCH_USERS" \
    BENCH_RAW_OUT="$RESULTS/raw/$index.json" BENCH_WEB_PID="$web_pid" BENCH_DB_NAME="$database_name" \
    "$BIN/locust" -f bench/locustfile.py --headless --users "$BENCH_USERS" --spawn-rate "$BENCH_USERS" \
    --run-time "$(( ${BENCH_SECONDS%.*} + 120 ))s" --host "http://127.0.0.1:$BENCH_PORT" \
    --only-summary --loglevel WARNING >"$RESULTS/logs/locust-$index.log" 2>&1 \
    || echo "  locust reported errors for $label; see $RESULTS/logs/locust-$index.log"
done <"$RESULTS/logs/pages.tsv"

cleanup
trap - EXIT

"$PY" bench/report.py --results "$RESULTS" --users "$BENCH_USERS" --seconds "$BENCH_SECONDS" \
  --web-workers "$BENCH_WEB_WORKERS" --worker-concurrency "$BENCH_WORKER_CONCURRENCY" \
  ${seed_seconds:+--seed-seconds "$seed_seconds"}
echo ""
echo "Results: $RESULTS/latest.json (and latest.md)"
