#!/usr/bin/env bash
# Installs the system packages the suite needs (Debian, as root) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    liblmdb-dev libcurl4-openssl-dev pkg-config zlib1g-dev \
    curl openssl python3 jq \
    prometheus prometheus-alertmanager chromium python3-websocket nginx-light wrk \
    systemd dbus-user-session >/dev/null
fi
# The OpenAPI fuzz test drives schemathesis (PyPI). Debian's own python3 has no pip and is "externally
# managed"; fall back to python3-pip with --break-system-packages there (as root, scripts go to /usr/local/bin).
if ! command -v schemathesis >/dev/null; then
  python3 -m pip install -q schemathesis 2>/dev/null || {
    apt-get install -y -qq --no-install-recommends python3-pip >/dev/null &&
    python3 -m pip install -q --break-system-packages schemathesis; }
fi
# The dependency versions committed in Package.resolved, never newer ones: every machine builds the same code.
swift build --build-tests --force-resolved-versions --explicit-target-dependency-import-check error
# Two phases. Suites that serve the registry in-process (Hummingbird on Swift's cooperative pool, which has one
# thread per core) run first, on their own: the daemon, browser and Prometheus suites block pool threads while they
# wait for other processes, and on a 2-core machine that starved in-process servers for tens of seconds.
# In-process work with a deadline runs there too (DiscoveryShutdownTests' scan task waited over 15 s for a thread).
IN_PROCESS='theListFastPathAnswersOverTLS|aNameResolvingToLinkLocalIsRefusedBeforeConnecting|promtoolCheckMetricsOnALiveScrapeIsClean|everySpecMetricIsExported|dashboardAndRulesUseOnlyExportedMetrics|dashboardAndRulesWorkInBasicMode|redirectsWithHugeLocationsAreCutAndTheDatabaseStaysSmall|ProbeIntegrationTests|HealthCheckIntegrationTests|HealthCheckUnitTests|UptimeRollupTests|RouteAuthorizationTests|CrossSiteBrowserTests|DashboardBrowserTests|DashboardResubscribeBrowserTests|ListFastPathTests|ReadCostTests|CrossSiteTests|PrometheusEndToEndTests|DiscoveryFailureTests|ServiceAPITests|AuthTests|MetricsEndpointTests|DashboardRouteTests|HistoryConsistencyTests|DiscoveryShutdownTests'
swift test --skip-build --filter "$IN_PROCESS" "$@"
# The prober's stay-alive suite and the connection-abuse suite measure shutdown, latency and schedule bounds on real
# daemons (the abuse suite while holding 5,200 connections, itself a load on everything beside it): they run last,
# alone, so the bounds they check are the daemon's, not the load of fifty other suites on two cores.
ALONE='ProberStayingAliveTests|ConnectionAbuseTests'
# Property-based suites are seconds of pure CPU on the cooperative pool's threads (two on two cores): beside the
# daemon suites they delayed those suites' waits past their bounds, so they run on their own, first.
PROPERTIES='PropertyBasedTests|StoredJSONDecodingTests|ServiceSnapshotTests'
swift test --skip-build --filter "$PROPERTIES" "$@"
swift test --skip-build --skip "$IN_PROCESS|$ALONE|$PROPERTIES" "$@"
swift test --skip-build --filter "$ALONE" "$@"
