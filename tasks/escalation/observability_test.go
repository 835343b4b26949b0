package escalation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/escalation"
)

// counterValues returns the registry's counters by name.
func counterValues(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if m.GetCounter() == nil {
				continue // the lag gauge: lag_test.go
			}
			out[f.GetName()] = m.GetCounter().GetValue()
		}
	}
	return out
}

func TestMetricsCountCommittedWorkOnly(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	p := tm.policy(tm.tenantID, 0)
	tm.step(p, 0, 5, scheduleT(tm.sched), responderT(tm.b))
	for range 3 {
		tm.alert(tm.tenantID, p, t0)
	}
	tm.alert(tm.tenantID, 0, t0) // no policy

	reg := prometheus.NewRegistry()
	task, hook := interruptible(t, tm.fixture, escalation.Options{Registerer: reg})
	zero := map[string]float64{
		"opsworker_escalation_pages_total":              0,
		"opsworker_escalation_alerts_escalated_total":   0,
		"opsworker_escalation_policies_exhausted_total": 0,
		"opsworker_escalation_no_one_on_call_total":     0,
		"opsworker_escalation_nobody_paged_total":       0,
		"opsworker_escalation_restarts_total":           0,
		"opsworker_escalation_ack_timeouts_total":       0,
		"opsworker_escalation_errors_total":             0,
	}
	// A batch rolled back by a cancellation counts nothing.
	ctx, cancel := context.WithCancel(tm.ctx)
	hook.set(func(_ context.Context, point string, _ int) {
		if point == written {
			cancel()
		}
	})
	if _, err := task.Run(ctx, t0); !isCancel(err) {
		t.Fatalf("run: %v, want a cancellation", err)
	}
	if got := counterValues(t, reg); fmt.Sprint(got) != fmt.Sprint(zero) {
		t.Fatalf("after a rolled-back batch: %v", got)
	}

	hook.set(nil)
	tm.run(task, t0)
	tm.run(task, t0.Add(minutes(5)))
	want := zero
	want["opsworker_escalation_pages_total"] = 6
	want["opsworker_escalation_alerts_escalated_total"] = 3
	want["opsworker_escalation_policies_exhausted_total"] = 3
	if got := counterValues(t, reg); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counters %v, want %v", got, want)
	}
	// A second task on the same registry (a re-created task) shares the counters.
	escalation.New(tm.pool, escalation.Options{Registerer: reg})
}

func TestLogsALinePerEscalatedAlert(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	p := tm.policy(tm.tenantID, 0)
	tm.step(p, 0, 5, scheduleT(tm.sched), responderT(tm.b))
	alert := tm.alert(tm.tenantID, p, t0)
	var buf bytes.Buffer
	ctx := scheduler.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)))
	if _, err := escalation.New(tm.pool, escalation.Options{}).Run(ctx, t0); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.Contains(l, `"alert escalated"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := fmt.Sprintf("map[level:INFO loop:0 pass:0 msg:alert escalated responder_ids:[%d %d] schedule_ids:[%d] step:0 tenant_id:t1 alert_id:%d]",
		tm.a, tm.b, tm.sched, alert)
	delete(line, "time")
	got := fmt.Sprintf("map[level:%v loop:%v pass:%v msg:%v responder_ids:%v schedule_ids:%v step:%v tenant_id:%v alert_id:%v]",
		line["level"], line["loop"], line["pass"], line["msg"], line["responder_ids"], line["schedule_ids"], line["step"], line["tenant_id"], line["alert_id"])
	if got != want || len(line) != 9 {
		t.Fatalf("log line %v\nwant %s\nlog:\n%s", line, want, buf.String())
	}
}
