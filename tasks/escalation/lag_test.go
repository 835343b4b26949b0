package escalation_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/opsworker/opsworker/tasks/escalation"
)

// The escalation lag is the age of the oldest due alert at the run's now, set when the run ends:
// also when its batch is rolled back (the alert is still due, and late), 0 when nothing is due.
func TestEscalationLag(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	p := tm.policy(tm.tenantID, 0)
	tm.step(p, 0, 5, responderT(tm.b))
	tm.alert(tm.tenantID, p, t0.Add(-minutes(1)))
	tm.alert(tm.tenantID, p, t0.Add(-minutes(3))) // the oldest, though inserted last
	tm.alert(tm.tenantID, p, t0.Add(minutes(1)))  // not yet due

	reg := prometheus.NewRegistry()
	task, hook := interruptible(t, tm.fixture, escalation.Options{Registerer: reg})
	lag := func() float64 {
		t.Helper()
		n, err := testutil.GatherAndCount(reg, "opsworker_escalation_lag_seconds")
		if err != nil || n != 1 {
			t.Fatalf("lag series: %d, %v", n, err)
		}
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "opsworker_escalation_lag_seconds" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return -1
	}
	if got := lag(); got != 0 {
		t.Fatalf("lag before any run: %v", got)
	}

	ctx, cancel := context.WithCancel(tm.ctx)
	hook.set(func(_ context.Context, point string, _ int) {
		if point == claimed {
			cancel()
		}
	})
	if _, err := task.Run(ctx, t0.Add(minutes(1))); !isCancel(err) {
		t.Fatalf("run: %v, want a cancellation", err)
	}
	if got := lag(); got != 240 {
		t.Fatalf("lag after a rolled-back run at t0+1m: %v, want 240", got)
	}
	hook.set(nil)

	tm.run(task, t0)
	if got := lag(); got != 180 {
		t.Fatalf("lag after the run at t0: %v, want 180", got)
	}
	tm.run(task, t0.Add(minutes(2))) // the alert due at t0+1m
	if got := lag(); got != 60 {
		t.Fatalf("lag after the run at t0+2m: %v, want 60", got)
	}
	tm.run(task, t0.Add(minutes(3))) // nothing due until t0+5m
	if got := lag(); got != 0 {
		t.Fatalf("lag with nothing due: %v, want 0", got)
	}
}
