#!/bin/bash
# Submits a planned posecam batch to AWS Batch: an array job of SHARDS children (AWS gives each its
# AWS_BATCH_JOB_ARRAY_INDEX and AWS_BATCH_JOB_ARRAY_SIZE), then the merge, which depends on the whole array.
#   aws batch register-job-definition --cli-input-json file://deploy/aws-batch/job-definition.json
#   deploy/aws-batch/submit.sh JOB_QUEUE [SHARDS] [BATCH_DIR_IN_CONTAINER]
# Exit 65 (bad inputs only) and 2 (a wrong command or batch folder) end a child; 75 and lost hosts are retried (retryStrategy).
set -euo pipefail
queue="${1:?usage: submit.sh JOB_QUEUE [SHARDS] [BATCH_DIR]}" shards="${2:-4}" dir="${3:-/data/poses}"
array=$(aws batch submit-job --job-name posecam-batch --job-queue "$queue" \
  --job-definition posecam-batch --array-properties "size=${shards}" \
  --container-overrides "command=batch,run,${dir},--shard,auto,--device,cuda" \
  --query jobId --output text)
merge=$(aws batch submit-job --job-name posecam-merge --job-queue "$queue" \
  --job-definition posecam-batch --depends-on "jobId=${array}" \
  --container-overrides "command=batch,merge,${dir},--shards,${shards}" \
  --query jobId --output text)
echo "array job ${array} (${shards} children), merge job ${merge}"
