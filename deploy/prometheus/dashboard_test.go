package prometheus

import (
	"regexp"
	"strings"
	"testing"
)

// The dashboard works on any Grafana: its data source is a variable, not a uid of compose's
// provisioning. Its top row shows the current values an operator looks at first (last success
// per task, escalation lag, delivery queue depth, failing deliveries), its lag is the alert's
// (the freshest replica's, not the largest), and it names tasks by the task label, never by job
// (the scrape job's, whatever its name).
func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	var source bool
	for _, v := range d.Templating.List {
		switch {
		case v.Type == "datasource":
			source = v.Name == "datasource" && v.Query == "prometheus"
		case v.Datasource == nil || v.Datasource.UID != "${datasource}":
			t.Errorf("variable %s: data source %+v, want ${datasource}", v.Name, v.Datasource)
		}
	}
	if !source {
		t.Error("no data source variable named datasource, of Prometheus data sources")
	}

	var lagRule string
	threshold := regexp.MustCompile(`\s*>\s*120\s*$`)
	for _, r := range loadRules(t) {
		if r.Alert == "OpsworkerEscalationLag" && threshold.MatchString(r.Expr) {
			lagRule = threshold.ReplaceAllString(r.Expr, "")
		}
	}
	if !strings.Contains(lagRule, "opsworker_escalation_lag_seconds") {
		t.Fatal("no OpsworkerEscalationLag rule on opsworker_escalation_lag_seconds with a threshold of 120")
	}
	firstSeries := -1
	for _, p := range d.Panels {
		if p.Type == "timeseries" && (firstSeries < 0 || p.GridPos.Y < firstSeries) {
			firstSeries = p.GridPos.Y
		}
	}
	top := map[string]bool{}
	var lagPanels int
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: data source %+v, want ${datasource}", p.Title, p.Datasource)
		}
		for _, tg := range p.Targets {
			if tg.Datasource != nil && tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: a query's data source is %+v", p.Title, tg.Datasource)
			}
			if regexp.MustCompile(`[{,]\s*job\s*[=!]`).MatchString(tg.Expr) || strings.Contains(tg.LegendFormat, "{{job}}") {
				t.Errorf("panel %q takes job for the task, or selects a scrape job by name: %s %s", p.Title, tg.Expr, tg.LegendFormat)
			}
			if strings.Contains(tg.Expr, "opsworker_escalation_lag_seconds") {
				lagPanels++
				if squash(tg.Expr) != squash(lagRule) {
					t.Errorf("panel %q: lag %s, want the rule's: %s", p.Title, tg.Expr, lagRule)
				}
			}
			if p.GridPos.Y < firstSeries {
				if p.Type != "stat" {
					t.Errorf("panel %q of the top row is a %s", p.Title, p.Type)
				}
				for _, want := range []string{"opsworker_job_last_success_timestamp_seconds", "opsworker_escalation_lag_seconds",
					"opsworker_delivery_queue_depth", `opsworker_delivery_deliveries_total{outcome="failed"}`} {
					if strings.Contains(tg.Expr, want) {
						top[want] = true
					}
				}
			}
		}
	}
	if len(top) != 4 {
		t.Errorf("the top row shows only %v", top)
	}
	if lagPanels < 2 {
		t.Errorf("%d panels show the escalation lag, want the top row's and the graph's", lagPanels)
	}
}

// squash drops an expression's white space, which PromQL ignores.
func squash(expr string) string {
	return strings.Join(strings.Fields(expr), "")
}
