package escalation_test

import (
	"context"
	"testing"
	"time"

	"github.com/opsworker/opsworker/tasks/escalation"
)

// A run resolves each schedule once, at its now, in the first batch that pages it: the batches
// of one run page the same person, even when the schedule changes between them; the next run
// reads the schedule again.
func TestRunResolvesEachScheduleOnce(t *testing.T) {
	t.Parallel()
	tm := newTeam(t) // a is on call all of t0's day
	p := tm.policy(tm.tenantID, 0)
	tm.step(p, 0, 5, scheduleT(tm.sched))
	alerts := []int64{tm.alert(tm.tenantID, p, t0), tm.alert(tm.tenantID, p, t0), tm.alert(tm.tenantID, p, t0)}
	task, hook := interruptible(t, tm.fixture, escalation.Options{BatchSize: 1})
	hook.set(func(_ context.Context, point string, batch int) {
		if point == committed && batch == 1 {
			tm.override(tm.sched, tm.b, 0, t0.Add(-time.Hour), t0.Add(time.Hour)) // b takes over
		}
	})
	s := tm.run(task, t0)
	wantSummary(t, s, map[string]int{"alerts_escalated": 3, "pages": 3, "batches": 3})
	for _, a := range alerts {
		wantPages(t, tm.pages(a), notification{Responder: tm.a, Schedule: tm.sched})
	}

	hook.set(nil)
	late := tm.alert(tm.tenantID, p, t0.Add(time.Minute))
	s = tm.run(task, t0.Add(time.Minute))
	wantSummary(t, s, map[string]int{"alerts_escalated": 1, "pages": 1})
	wantPages(t, tm.pages(late), notification{Responder: tm.b, Schedule: tm.sched})
}
