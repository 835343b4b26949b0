// Package prometheus holds opsworker's Prometheus configuration for compose's monitoring profile
// (prometheus.yml), its alerting rules (rules.yml) with promtool unit tests (rules_test.yml),
// and the tests that check them and the Grafana dashboard (../grafana/opsworker.json): promtool
// runs the unit tests, and a live test starts Debian's Prometheus scraping a running opsworker
// and evaluates every rule's and every panel's expression, each of whose series must exist.
package prometheus
