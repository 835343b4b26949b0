package escalation_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/tasks/escalation"
)

// team is a tenant with four responders and a schedule on which a is on call all of t0's day
// (daily handoffs at midnight UTC, a and b in turn from 2027-05-01: a, b, a, b, ...).
type team struct {
	*fixture
	tenantID   string
	a, b, c, d int64
	sched      int64
}

func newTeam(t *testing.T) *team {
	f := newFixture(t)
	tm := &team{fixture: f, tenantID: f.tenant("t1")}
	tm.a, tm.b = f.responder("t1", "a"), f.responder("t1", "b")
	tm.c, tm.d = f.responder("t1", "c"), f.responder("t1", "d")
	tm.sched = f.schedule("t1", "primary", "UTC")
	f.dailyLayer(tm.sched, 1, time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC), tm.a, tm.b)
	return tm
}

func wantPages(t *testing.T, got []notification, want ...notification) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("notifications %v, want %v", got, want)
	}
}

func wantKinds(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestThreeStepPolicyWithOneRepeat(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	p := tm.policy(tm.tenantID, 1)
	tm.step(p, 0, 5, scheduleT(tm.sched))
	tm.step(p, 1, 10, responderT(tm.c))
	tm.step(p, 2, 15, responderT(tm.d), responderT(tm.c), scheduleT(tm.sched))
	alert := tm.alert(tm.tenantID, p, t0)
	task := escalation.New(tm.pool, escalation.Options{})

	type visit struct {
		at       time.Duration // after t0
		step     int32
		loop     int32
		paged    []int64 // in the order of the step's targets
		next     time.Duration
		viaSched []bool
	}
	var want []notification
	for _, v := range []visit{
		{at: 0, step: 0, loop: 0, paged: []int64{tm.a}, viaSched: []bool{true}, next: minutes(5)},
		{at: minutes(5), step: 1, loop: 0, paged: []int64{tm.c}, viaSched: []bool{false}, next: minutes(15)},
		// d and c directly; the schedule's a is paged too; c is not paged twice.
		{at: minutes(15), step: 2, loop: 0, paged: []int64{tm.d, tm.c, tm.a}, viaSched: []bool{false, false, true}, next: minutes(30)},
		{at: minutes(30), step: 0, loop: 1, paged: []int64{tm.a}, viaSched: []bool{true}, next: minutes(35)},
		{at: minutes(35), step: 1, loop: 1, paged: []int64{tm.c}, viaSched: []bool{false}, next: minutes(45)},
		{at: minutes(45), step: 2, loop: 1, paged: []int64{tm.d, tm.c, tm.a}, viaSched: []bool{false, false, true}, next: minutes(60)},
	} {
		// A minute early, nothing happens.
		if v.at > 0 {
			s := tm.run(task, t0.Add(v.at-time.Minute))
			wantSummary(t, s, map[string]int{"alerts_escalated": 0, "pages": 0, "batches": 0})
		}
		s := tm.run(task, t0.Add(v.at))
		wantSummary(t, s, map[string]int{"alerts_escalated": 1, "pages": len(v.paged), "batches": 1, "policies_exhausted": 0})
		tm.wantState(alert, at(v.step), v.loop, t0.Add(v.next))
		if last := tm.state(alert).Last; last == nil || !last.Equal(t0.Add(v.at)) {
			t.Fatalf("last_escalated_at %v, want %v", last, t0.Add(v.at))
		}
		for i, r := range v.paged {
			n := notification{Responder: r, Loop: v.loop, Step: v.step}
			if v.viaSched[i] {
				n.Schedule = tm.sched
			}
			want = append(want, n)
		}
		// Within a step the outbox keeps insertion order, which is the targets' order.
		wantPages(t, tm.pages(alert), want...)
		// The escalated event says who was paged.
		evs := tm.events(alert)
		last := evs[len(evs)-1]
		if last.Event != "escalated" || *last.Step != v.step || *last.Loop != v.loop || !last.At.Equal(t0.Add(v.at)) {
			t.Fatalf("last event %v", last)
		}
		if got := fmt.Sprint(last.Details["responder_ids"]); got != fmt.Sprint(v.paged) {
			t.Fatalf("escalated responder_ids %s, want %v", got, v.paged)
		}
	}

	// Past the last step of the second pass: exhausted, and never again.
	s := tm.run(task, t0.Add(minutes(60)))
	wantSummary(t, s, map[string]int{"alerts_escalated": 0, "pages": 0, "policies_exhausted": 1})
	tm.wantState(alert, at(2), 1, time.Time{})
	wantKinds(t, tm.eventKinds(alert), "escalated", "escalated", "escalated", "escalated", "escalated", "escalated", "policy_exhausted")
	s = tm.run(task, t0.Add(10*time.Hour))
	wantSummary(t, s, map[string]int{"alerts_escalated": 0, "policies_exhausted": 0, "batches": 0})
	if n := len(tm.pages(alert)); n != 10 {
		t.Fatalf("%d notifications after exhaustion, want 10", n)
	}
	if n := len(tm.events(alert)); n != 7 {
		t.Fatalf("%d events after exhaustion, want 7", n)
	}
}

func TestAcknowledgedAndResolvedAlertsStop(t *testing.T) {
	t.Parallel()
	for _, status := range []string{"acknowledged", "resolved"} {
		t.Run(status, func(t *testing.T) {
			tm := newTeam(t)
			p := tm.policy(tm.tenantID, 3)
			tm.step(p, 0, 5, responderT(tm.a))
			tm.step(p, 1, 5, responderT(tm.b))
			alert := tm.alert(tm.tenantID, p, t0)
			task := escalation.New(tm.pool, escalation.Options{})
			tm.run(task, t0)
			tm.exec(`update alerts set status = $2, acknowledged_at = $3, acknowledged_by = 'a', resolved_at = $3 where id = $1`,
				alert, status, t0.Add(minutes(1)))
			for _, later := range []time.Duration{minutes(5), time.Hour, 48 * time.Hour} {
				s := tm.run(task, t0.Add(later))
				wantSummary(t, s, map[string]int{"alerts_escalated": 0, "ack_timeouts": 0, "batches": 0})
			}
			wantPages(t, tm.pages(alert), notification{Responder: tm.a})
			wantKinds(t, tm.eventKinds(alert), "escalated")
			if s := tm.state(alert); s.Status != status || *s.Step != 0 {
				t.Fatalf("state %+v", s)
			}
		})
	}
}

func TestAckTimeoutRestartsFromTheFirstStep(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	p := tm.policy(tm.tenantID, 0) // no repeat: the restart does not need one
	tm.exec(`update escalation_policies set ack_timeout_minutes = 30 where id = $1`, p)
	tm.step(p, 0, 5, responderT(tm.a))
	tm.step(p, 1, 10, responderT(tm.b))
	alert := tm.alert(tm.tenantID, p, t0)
	task := escalation.New(tm.pool, escalation.Options{})
	tm.run(task, t0)
	tm.run(task, t0.Add(minutes(5)))
	ackedAt := t0.Add(minutes(6))
	tm.exec(`update alerts set status = 'acknowledged', acknowledged_at = $2, acknowledged_by = 'b' where id = $1`, alert, ackedAt)

	// A second before the timeout: nothing.
	s := tm.run(task, ackedAt.Add(minutes(30)-time.Second))
	wantSummary(t, s, map[string]int{"ack_timeouts": 0, "alerts_escalated": 0})
	if st := tm.state(alert); st.Status != "acknowledged" {
		t.Fatalf("status %s before the timeout", st.Status)
	}

	// At the timeout: back to triggered, and paged from position 0 of the next loop, at once.
	now := ackedAt.Add(minutes(30))
	s = tm.run(task, now)
	wantSummary(t, s, map[string]int{"ack_timeouts": 1, "alerts_escalated": 1, "pages": 1})
	var status string
	var ackAt *time.Time
	var ackBy *string
	if err := tm.pool.QueryRow(tm.ctx, `select status, acknowledged_at, acknowledged_by from alerts where id = $1`, alert).
		Scan(&status, &ackAt, &ackBy); err != nil {
		t.Fatal(err)
	}
	if status != "triggered" || ackAt != nil || ackBy != nil {
		t.Fatalf("after the timeout: status %s, acknowledged_at %v, acknowledged_by %v", status, ackAt, ackBy)
	}
	tm.wantState(alert, at(0), 1, now.Add(minutes(5)))
	// Not a restart: the same pass, the next loop.
	if pass, pages := tm.passOf(alert); pass != 0 || !slices.Equal(pages, []int32{0, 0, 0}) {
		t.Fatalf("pass %d, pages' passes %v", pass, pages)
	}
	wantPages(t, tm.pages(alert),
		notification{Responder: tm.a, Loop: 0, Step: 0},
		notification{Responder: tm.b, Loop: 0, Step: 1},
		notification{Responder: tm.a, Loop: 1, Step: 0})
	evs := tm.events(alert)
	wantKinds(t, tm.eventKinds(alert), "escalated", "escalated", "ack_timeout", "escalated")
	ack := evs[2]
	if *ack.Loop != 1 || ack.Step != nil || !ack.At.Equal(now) || ack.Details["acknowledged_by"] != "b" ||
		ack.Details["ack_timeout_minutes"] != float64(30) {
		t.Fatalf("ack_timeout event %v", ack)
	}

	// The repeat limit applies again after that pass: step 1, then exhausted.
	tm.run(task, now.Add(minutes(5)))
	s = tm.run(task, now.Add(minutes(15)))
	wantSummary(t, s, map[string]int{"policies_exhausted": 1, "alerts_escalated": 0})
	tm.wantState(alert, at(1), 1, time.Time{})
}

func TestScheduleOverrides(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		replaces func(tm *team) int64
		from, to time.Duration
		want     func(tm *team) int64
	}{
		{"takes the whole schedule", func(*team) int64 { return 0 }, -time.Hour, time.Hour, func(tm *team) int64 { return tm.c }},
		{"stands in for the one on call", func(tm *team) int64 { return tm.a }, -time.Hour, time.Hour, func(tm *team) int64 { return tm.c }},
		{"stands in for someone else", func(tm *team) int64 { return tm.b }, -time.Hour, time.Hour, func(tm *team) int64 { return tm.a }},
		{"ended", func(*team) int64 { return 0 }, -2 * time.Hour, 0, func(tm *team) int64 { return tm.a }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := newTeam(t)
			tm.override(tm.sched, tm.c, tc.replaces(tm), t0.Add(tc.from), t0.Add(tc.to))
			p := tm.policy(tm.tenantID, 0)
			tm.step(p, 0, 5, scheduleT(tm.sched))
			alert := tm.alert(tm.tenantID, p, t0)
			tm.run(escalation.New(tm.pool, escalation.Options{}), t0)
			wantPages(t, tm.pages(alert), notification{Responder: tc.want(tm), Schedule: tm.sched})
		})
	}
}

func TestCatchUpAfterDowntimePagesOneStepPerRun(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	p := tm.policy(tm.tenantID, 0)
	tm.step(p, 0, 5, responderT(tm.a))
	tm.step(p, 1, 5, responderT(tm.b))
	tm.step(p, 2, 5, responderT(tm.c))
	alert := tm.alert(tm.tenantID, p, t0)
	task := escalation.New(tm.pool, escalation.Options{})

	back := t0.Add(3 * time.Hour) // the worker was down for three hours
	s := tm.run(task, back)
	wantSummary(t, s, map[string]int{"alerts_escalated": 1, "pages": 1})
	tm.wantState(alert, at(0), 0, back.Add(minutes(5)))
	// Another run in the same minute (a replica, a retry) pages nothing more.
	for range 3 {
		s = tm.run(task, back)
		wantSummary(t, s, map[string]int{"alerts_escalated": 0, "pages": 0})
		s = tm.run(task, back.Add(minutes(4)))
		wantSummary(t, s, map[string]int{"alerts_escalated": 0, "pages": 0})
	}
	tm.run(task, back.Add(minutes(5)))
	tm.wantState(alert, at(1), 0, back.Add(minutes(10)))
	tm.run(task, back.Add(minutes(10)))
	tm.wantState(alert, at(2), 0, back.Add(minutes(15)))
	wantPages(t, tm.pages(alert),
		notification{Responder: tm.a, Step: 0}, notification{Responder: tm.b, Step: 1}, notification{Responder: tm.c, Step: 2})
	var ats []time.Time
	for _, e := range tm.events(alert) {
		ats = append(ats, e.At)
	}
	if want := []time.Time{back, back.Add(minutes(5)), back.Add(minutes(10))}; !slices.EqualFunc(ats, want, time.Time.Equal) {
		t.Fatalf("escalated at %v, want %v", ats, want)
	}
}

func TestAnotherServiceEscalatesAtOnce(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	p := tm.policy(tm.tenantID, 0)
	tm.step(p, 0, 30, responderT(tm.a))
	tm.step(p, 1, 30, responderT(tm.b))
	alert := tm.alert(tm.tenantID, p, t0)
	task := escalation.New(tm.pool, escalation.Options{})
	tm.run(task, t0)
	tm.wantState(alert, at(0), 0, t0.Add(minutes(30)))

	// The API's "escalate now" button: next_escalation_at = now().
	pressed := t0.Add(minutes(2))
	tm.exec(`update alerts set next_escalation_at = $2 where id = $1`, alert, pressed)
	s := tm.run(task, pressed)
	wantSummary(t, s, map[string]int{"alerts_escalated": 1, "pages": 1})
	tm.wantState(alert, at(1), 0, pressed.Add(minutes(30)))
	wantPages(t, tm.pages(alert), notification{Responder: tm.a, Step: 0}, notification{Responder: tm.b, Step: 1})
}

// A failing ack timeout pass fails the run, but the due alerts are paged all the same.
func TestFailedAckTimeoutPassStillEscalates(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	p := tm.policy(tm.tenantID, 0)
	tm.step(p, 0, 5, responderT(tm.a))
	alert := tm.alert(tm.tenantID, p, t0)
	// Break the ack pass only: the escalation does not read this column.
	tm.exec(`alter table escalation_policies rename column ack_timeout_minutes to broken`)
	s, err := escalation.New(tm.pool, escalation.Options{}).Run(tm.ctx, t0)
	if err == nil || !strings.Contains(err.Error(), "ack timeouts") {
		t.Fatalf("run: %v, want the ack timeout pass's error", err)
	}
	wantSummary(t, s, map[string]int{"alerts_escalated": 1, "pages": 1})
	wantPages(t, tm.pages(alert), notification{Responder: tm.a})
}
