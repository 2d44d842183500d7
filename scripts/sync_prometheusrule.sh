#!/usr/bin/env bash
# Writes k8s/base/prometheusrule.yaml from monitoring/prometheus/alerts.yml: the same `groups`,
# indented under `spec:`. Run after editing the alert rules; dataflow/tests/k8s.rs fails while the
# two differ. Keep alerts.yml's lines at most 118 characters (the manifests' yamllint limit is 120).
set -euo pipefail
cd "$(dirname "$0")/.."
{
  sed -n '1,4p' k8s/base/prometheusrule.yaml
  printf 'apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: tickflow\nspec:\n'
  sed -n '/^groups:/,$p' monitoring/prometheus/alerts.yml | sed 's/^\(.\)/  \1/'
} > k8s/base/prometheusrule.yaml.new
mv k8s/base/prometheusrule.yaml.new k8s/base/prometheusrule.yaml
