#!/bin/sh
# Batch worker: lease tasks from SQS until the queue stays empty, then exit 0.
# Settings from the job definition's environment (set by infra/batch_compute.py):
#   QUEUE_URL   task queue            RUN_CONFIG  run config as JSON (plugin, product, s3_acl, output_location)
#   THREADS     = the job's vCPUs     MEMORY      = the job's memory less 5%, e.g. 114000M
#   TASK_TABLE  DynamoDB task table: `odc-stats run --from-sqs` reads it itself (or --task-table,
#               which wins) and marks each task's row RUNNING (worker id AWS_BATCH_JOB_ID:index),
#               DONE (STAC item URL, seconds) or FAILED (one-line reason, seconds)
# exec: the worker becomes PID 1's child-free replacement, so Batch's SIGTERM (job
# terminated, spot reclaim) reaches it directly; it releases its message and exits.
#
# A command starting with odc-stats runs as given instead: the planner job of a run too large for
# the Enumerate Lambda (`odc-stats save-tasks --stac-api ... s3://.../NAME.db`, infra/batch_compute.py).
set -eu
if [ "${1:-}" = "odc-stats" ]; then
    exec "$@"
fi
: "${QUEUE_URL:?QUEUE_URL not set}" "${RUN_CONFIG:?RUN_CONFIG not set}"
config="${TMPDIR:-/tmp}/run-config.yaml"
printf '%s\n' "$RUN_CONFIG" > "$config"   # JSON is YAML
exec odc-stats run --from-sqs "$QUEUE_URL" --config "$config" \
    --threads "${THREADS:--1}" --memory-limit "${MEMORY:-}" \
    --heartbeat-filepath "${TMPDIR:-/tmp}/heartbeat" "$@"
