// Package prometheus holds opsworker's Prometheus configuration for compose's monitoring profile
// (prometheus.yml), its alerting rules (rules.yml) with promtool unit tests (rules_test.yml),
// and the tests that check them, their runbooks (../../docs/runbooks.md) and the Grafana
// dashboard (../grafana/opsworker.json): promtool runs the unit tests; static tests check that
// every alert waits, has a severity and a runbook section, and that the dashboard's data source
// is a variable and its lag the rule's; and a live test starts Debian's Prometheus scraping a
// running opsworker, lints its /metrics with promtool, and evaluates every rule's and every
// panel's expression, each of whose series must exist, and renders every alert's annotations.
package prometheus
