#!/usr/bin/env bash
# promtool's judgement of the monitoring files and, given a running instance, of what it
# exports. Called by scripts/check-deploy.sh (which runs it in CI); usable on its own.
#
#   check-prometheus.sh             prometheus.yml and the rule files it loads (check config),
#                                   the alert rules' unit tests (test rules)
#   check-prometheus.sh metrics URL a scrape of URL (an instance's /metrics): check metrics,
#                                   which must print no warning at all
#
# Needs promtool (Debian's `prometheus` package; .ci/run installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v promtool >/dev/null || {
  echo "promtool is not installed (apt-get install -y --no-install-recommends prometheus)" >&2
  exit 1
}

case "${1:-files}" in
  files)
    # check config also runs check rules on every file of rule_files.
    promtool check config deploy/prometheus/prometheus.yml
    promtool test rules deploy/prometheus/tests/*.test.yml
    ;;
  metrics)
    url=${2:?usage: $0 metrics URL}
    scrape=$(curl -fsS "$url")
    # promtool prints one line per problem; exit status alone is not enough across versions.
    problems=$(promtool check metrics <<<"$scrape" 2>&1) || true
    if [[ -n $problems ]]; then
      echo "$problems"
      exit 1
    fi
    echo "promtool check metrics: no problems in $(grep -c '^# TYPE ' <<<"$scrape") families"
    ;;
  *)
    echo "usage: $0 [files | metrics URL]" >&2
    exit 2
    ;;
esac
