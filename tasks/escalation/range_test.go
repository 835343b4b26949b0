package escalation_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/tasks/escalation"
)

// Issue 17.6: every instant the task writes stays inside the supported range. A step paged late
// in 2199 whose delay ends past it is bad data, recorded, and its next escalation is not stored
// (the alert is not due again); a step whose delay ends inside the range goes on as ever; and a
// run at an instant outside the range writes nothing at all.
func TestNothingWrittenOutsideTheSupportedRange(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	late := time.Date(2199, 12, 31, 23, 0, 0, 0, time.UTC)
	long, short := tm.policy(tm.tenantID, 0), tm.policy(tm.tenantID, 0)
	tm.step(long, 0, 120, responderT(tm.d), scheduleT(tm.sched))
	tm.step(long, 1, 5, responderT(tm.b))
	tm.step(short, 0, 30, responderT(tm.c))
	tooFar, fine := tm.alert(tm.tenantID, long, late), tm.alert(tm.tenantID, short, late)
	task := escalation.New(tm.pool, escalation.Options{})

	s := tm.run(task, late)
	wantSummary(t, s, map[string]int{"alerts_escalated": 2, "pages": 3, "errors": 1})
	if got := len(tm.pages(tooFar)); got != 2 {
		t.Fatalf("%d pages of the step, want 2: the step itself is paged", got)
	}
	tm.wantState(tooFar, at(0), 0, time.Time{})
	tm.wantState(fine, at(0), 0, late.Add(30*time.Minute))
	wantKinds(t, tm.eventKinds(tooFar), "escalation_error", "escalated")
	evs := tm.events(tooFar)
	if p, _ := evs[0].Details["error"].(string); evs[0].Details["problem"] != "next_escalation_out_of_range" ||
		!strings.Contains(p, "2200-01-01T01:00:00Z is outside the supported range") {
		t.Fatalf("escalation_error %v", evs[0].Details)
	}
	if _, ok := evs[1].Details["next_escalation_at"]; ok {
		t.Fatalf("escalated event names a next escalation: %v", evs[1].Details)
	}
	if s := tm.state(tooFar); s.Last == nil || !s.Last.Equal(late) {
		t.Fatalf("last escalated at %v, want %v", s.Last, late)
	}
	// At the last instant of the range, the short policy's alert is exhausted (it has one step);
	// the other is not due.
	s = tm.run(task, civil.MaxInstant.Add(-time.Microsecond))
	wantSummary(t, s, map[string]int{"alerts_escalated": 0, "pages": 0, "policies_exhausted": 1})
	wantKinds(t, tm.eventKinds(tooFar), "escalation_error", "escalated")

	before := tm.count(`select (select count(*) from notifications) + (select count(*) from alert_events)`)
	for _, now := range []time.Time{civil.MaxInstant, civil.MinInstant.Add(-time.Second)} {
		if _, err := task.Run(tm.ctx, now); !errors.Is(err, civil.ErrOutOfRange) {
			t.Fatalf("run at %s: %v, want an error wrapping civil.ErrOutOfRange", now, err)
		}
	}
	if got := tm.count(`select (select count(*) from notifications) + (select count(*) from alert_events)`); got != before {
		t.Fatalf("runs outside the range wrote %d rows", got-before)
	}
	for _, q := range []string{
		`select count(*) from alerts where next_escalation_at >= $1 or last_escalated_at >= $1`,
		`select count(*) from notifications where created_at >= $1 or next_attempt_at >= $1`,
		`select count(*) from alert_events where at >= $1 or (details->>'next_escalation_at')::timestamptz >= $1`,
	} {
		if got := tm.count(q, civil.MaxInstant); got != 0 {
			t.Fatalf("%s: %d rows", q, got)
		}
	}
}

// Options: the zero value takes the defaults; what is out of range is named.
func TestOptions(t *testing.T) {
	if got := (escalation.Options{}).WithDefaults(); got.BatchSize != escalation.DefaultBatchSize || got.Validate() != nil {
		t.Fatalf("defaults %+v: %v", got, got.Validate())
	}
	if got := (escalation.Options{}).WithDefaults(); got.Workers != escalation.DefaultWorkers {
		t.Fatalf("defaults %+v", got)
	}
	for _, n := range []int{-1, escalation.MaxBatchSize + 1} {
		err := escalation.Options{BatchSize: n}.WithDefaults().Validate()
		if want := fmt.Sprintf("escalation: BatchSize %d: want 1 to 10000 (0: %d)", n, escalation.DefaultBatchSize); err == nil || err.Error() != want {
			t.Fatalf("BatchSize %d: %v, want %s", n, err, want)
		}
	}
	for _, n := range []int{-1, escalation.MaxWorkers + 1} {
		err := escalation.Options{Workers: n}.WithDefaults().Validate()
		if want := fmt.Sprintf("escalation: Workers %d: want 1 to 16 (0: 2)", n); err == nil || err.Error() != want {
			t.Fatalf("Workers %d: %v, want %s", n, err, want)
		}
	}
}
