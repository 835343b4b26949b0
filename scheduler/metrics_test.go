package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The scheduler's series name the task in a label called task: a job label of their own would
// clash with the one Prometheus gives every scraped series. Each exists from registration, the
// interval gauge only for tasks that are on, and all pass Prometheus' naming lint.
func TestMetricsLabelTask(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.register("escalation")
	from := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	every, err := ParseSpec("@every 1m", time.UTC, from)
	if err != nil {
		t.Fatal(err)
	}
	daily, err := ParseSpec("0 6 * * 1-5", time.UTC, from) // weekdays: the weekend is the longest gap
	if err != nil {
		t.Fatal(err)
	}
	RegisterIntervals(reg, from, map[string]*Spec{"escalation": &every, "report": &daily, "off": nil})

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if _, ok := labels["job"]; ok {
				t.Errorf("%s has a job label: %v", f.GetName(), labels)
			}
			if f.GetName() != "opsworker_job_history_dropped_total" && labels["task"] == "" {
				t.Errorf("%s has no task label: %v", f.GetName(), labels)
			}
			seen[f.GetName()] = true
		}
	}
	for _, name := range []string{"opsworker_job_runs_total", "opsworker_job_run_duration_seconds", "opsworker_job_last_success_timestamp_seconds",
		"opsworker_job_skipped_total", "opsworker_job_running", "opsworker_job_missed_total", "opsworker_job_wakeups_total", "opsworker_job_interval_seconds"} {
		if !seen[name] {
			t.Errorf("%s does not exist before the first run", name)
		}
	}

	want := `
# HELP opsworker_job_interval_seconds Longest time between two firings of the task's spec: how long a healthy task may go without a run.
# TYPE opsworker_job_interval_seconds gauge
opsworker_job_interval_seconds{task="escalation"} 60
opsworker_job_interval_seconds{task="report"} 259200
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "opsworker_job_interval_seconds"); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
