#!/bin/sh
# Run the shards, then their merge: Kubernetes has no dependency between
# Jobs, so wait for the shards' Job to complete before starting the merge
# (a failed shard stops here, and the merge never starts).
set -eu
here=$(dirname "$0")
kubectl apply -f "$here/configmap.yaml" -f "$here/partials-pvc.yaml"
kubectl delete job aggregate-shards aggregate-merge --ignore-not-found
kubectl apply -f "$here/shards-job.yaml"
kubectl wait --for=condition=complete job/aggregate-shards --timeout=6h
kubectl apply -f "$here/merge-job.yaml"
kubectl wait --for=condition=complete job/aggregate-merge --timeout=1h
