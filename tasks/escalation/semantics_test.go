package escalation_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/opsworker/opsworker/tasks/escalation"
	"github.com/opsworker/opsworker/tasks/report"
)

// The tests of issue 14's findings, as DESIGN.md now states the behaviour. Each asserts first
// what the old code got wrong, then the new state (passes, events).

// passOf returns alert's escalation pass and the pass of each of its pages, in the order written.
func (f *fixture) passOf(alert int64) (int32, []int32) {
	f.t.Helper()
	pass := int32(f.id(`select escalation_pass from alerts where id = $1`, alert))
	var pages []int32
	rows, err := f.pool.Query(f.ctx, `select escalation_pass from notifications where alert_id = $1 order by id`, alert)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var p int32
		if err := rows.Scan(&p); err != nil {
			f.t.Fatal(err)
		}
		pages = append(pages, p)
	}
	return pass, pages
}

// lastEvent returns alert's newest event.
func (f *fixture) lastEvent(alert int64) alertEvent {
	f.t.Helper()
	evs := f.events(alert)
	if len(evs) == 0 {
		f.t.Fatalf("alert %d has no events", alert)
	}
	return evs[len(evs)-1]
}

// Finding 1: a delay far above a year (an API's "never") is bad data, recorded, and the step
// waits a year: never an overflowed instant in the past that pages the next step a minute later.
func TestHugeDelayIsBadDataNotAnOverflow(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	p := tm.policy(tm.tenantID, 0)
	// A row stored before the schema checked the range: the migration adds the check NOT VALID.
	tm.exec(`alter table escalation_steps drop constraint if exists escalation_steps_delay_minutes_range`)
	tm.step(p, 0, 200000000, responderT(tm.a))
	tm.step(p, 1, 5, responderT(tm.b))
	tm.exec(`alter table escalation_steps add constraint escalation_steps_delay_minutes_range
	         check (delay_minutes between 1 and 525600) not valid`)
	alert := tm.alert(tm.tenantID, p, t0)
	task := escalation.New(tm.pool, escalation.Options{})

	first := tm.run(task, t0)
	s := tm.run(task, t0.Add(time.Minute))
	wantPages(t, tm.pages(alert), notification{Responder: tm.a})
	tm.wantState(alert, at(0), 0, t0.Add(525600*time.Minute))
	wantSummary(t, first, map[string]int{"alerts_escalated": 1, "pages": 1, "errors": 1})
	wantSummary(t, s, map[string]int{"alerts_escalated": 0, "pages": 0})
	wantKinds(t, tm.eventKinds(alert), "escalation_error", "escalated")
	if d := tm.events(alert)[0].Details; d["problem"] != "delay_out_of_range" || d["delay_minutes"] != float64(200000000) ||
		d["position"] != float64(0) {
		t.Fatalf("escalation_error %v", d)
	}
	// New rows are held to the range.
	if _, err := tm.pool.Exec(tm.ctx, `update escalation_steps set delay_minutes = 525601 where policy_id = $1 and position = 1`, p); err == nil {
		t.Fatal("a delay above a year was stored")
	}
}

// Finding 2: moving an alert to another policy restarts it there, at once when another service
// also sets next_escalation_at = now(), otherwise when it is next due.
func TestPolicySwitchRestarts(t *testing.T) {
	t.Parallel()
	for _, escalateNow := range []bool{true, false} {
		t.Run(fmt.Sprintf("escalate now %v", escalateNow), func(t *testing.T) {
			tm := newTeam(t)
			old := tm.policy(tm.tenantID, 0)
			tm.step(old, 0, 5, responderT(tm.a))
			tm.step(old, 1, 5, responderT(tm.b))
			moved := tm.policy(tm.tenantID, 0)
			tm.step(moved, 0, 10, responderT(tm.c))
			alert := tm.alert(tm.tenantID, old, t0)
			task := escalation.New(tm.pool, escalation.Options{})
			tm.run(task, t0)

			switched := t0.Add(time.Minute)
			tm.exec(`update alerts set escalation_policy_id = $2 where id = $1`, alert, moved)
			if escalateNow {
				tm.exec(`update alerts set next_escalation_at = $2 where id = $1`, alert, switched)
			} else {
				switched = t0.Add(minutes(5)) // when it was due anyway
			}
			s := tm.run(task, switched)
			wantSummary(t, s, map[string]int{"alerts_escalated": 1, "pages": 1, "restarts": 1, "policies_exhausted": 0})
			wantPages(t, tm.pages(alert), notification{Responder: tm.a}, notification{Responder: tm.c})
			tm.wantState(alert, at(0), 0, switched.Add(minutes(10)))
			ev := tm.lastEvent(alert)
			if ev.Event != "escalated" || ev.Details["restart"] != "policy_changed" || ev.Details["previous_policy_id"] != float64(old) ||
				ev.Details["policy_id"] != float64(moved) {
				t.Fatalf("event %v", ev)
			}
			if pass, pages := tm.passOf(alert); pass != 1 || !slices.Equal(pages, []int32{0, 1}) {
				t.Fatalf("pass %d, pages' passes %v", pass, pages)
			}
			// The new policy runs its course: one step, no repeat.
			s = tm.run(task, switched.Add(minutes(10)))
			wantSummary(t, s, map[string]int{"alerts_escalated": 0, "policies_exhausted": 1})
		})
	}
}

// Finding 2: an alert reopened after resolved, or reset by hand, restarts from the first step in
// a new pass whose pages are new pages (the outbox's key no longer swallows them), and the
// escalated event names them.
func TestRestartPagesAgain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(tm *team, alert int64, at time.Time)
	}{
		{"reopened after resolved", func(tm *team, alert int64, at time.Time) {
			tm.exec(`update alerts set status = 'resolved', resolved_at = $2 where id = $1`, alert, at.Add(-time.Minute))
			tm.exec(`update alerts set status = 'triggered', resolved_at = null, escalation_step = null, next_escalation_at = $2
			         where id = $1`, alert, at)
		}},
		{"exhausted, restarted", func(tm *team, alert int64, at time.Time) {
			tm.exec(`update alerts set escalation_step = null, next_escalation_at = $2 where id = $1`, alert, at)
		}},
		{"step and loop reset by hand", func(tm *team, alert int64, at time.Time) {
			tm.exec(`update alerts set escalation_step = null, escalation_loop = 0, next_escalation_at = $2 where id = $1`, alert, at)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := newTeam(t)
			p := tm.policy(tm.tenantID, 1)
			tm.step(p, 0, 5, responderT(tm.a))
			alert := tm.alert(tm.tenantID, p, t0)
			task := escalation.New(tm.pool, escalation.Options{})
			for _, m := range []int{0, 5, 10} { // loop 0, loop 1, exhausted
				tm.run(task, t0.Add(minutes(m)))
			}
			wantKinds(t, tm.eventKinds(alert), "escalated", "escalated", "policy_exhausted")

			restart := t0.Add(time.Hour)
			tc.setup(tm, alert, restart)
			s := tm.run(task, restart)
			wantSummary(t, s, map[string]int{"alerts_escalated": 1, "pages": 1, "restarts": 1, "policies_exhausted": 0})
			wantPages(t, tm.pages(alert), notification{Responder: tm.a}, notification{Responder: tm.a},
				notification{Responder: tm.a, Loop: 1})
			ev := tm.lastEvent(alert)
			if ev.Event != "escalated" || fmt.Sprint(ev.Details["responder_ids"]) != fmt.Sprintf("[%d]", tm.a) ||
				ev.Details["restart"] != "escalation_step_reset" {
				t.Fatalf("event %v", ev)
			}
			tm.wantState(alert, at(0), 0, restart.Add(minutes(5)))
			if pass, pages := tm.passOf(alert); pass != 1 || !slices.Equal(pages, []int32{0, 0, 1}) {
				t.Fatalf("pass %d, pages' passes %v", pass, pages)
			}
			// The new pass repeats as the first did, then is exhausted.
			tm.run(task, restart.Add(minutes(5)))
			s = tm.run(task, restart.Add(minutes(10)))
			wantSummary(t, s, map[string]int{"policies_exhausted": 1})
			if n := len(tm.pages(alert)); n != 4 {
				t.Fatalf("%d pages, want 4", n)
			}
		})
	}
}

// Finding 2: an escalated event names exactly the pages inserted. When another service moves
// escalation_step back by hand (not a restart: the position is kept), the pages the outbox already
// holds are not claimed as paged again; a step whose pages all existed paged nobody.
func TestEscalatedEventNamesOnlyInsertedPages(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	p := tm.policy(tm.tenantID, 0)
	tm.step(p, 0, 5, responderT(tm.a))
	tm.step(p, 1, 5, responderT(tm.b), responderT(tm.c))
	tm.step(p, 2, 5, responderT(tm.d))
	alert := tm.alert(tm.tenantID, p, t0)
	task := escalation.New(tm.pool, escalation.Options{})
	tm.run(task, t0)
	tm.run(task, t0.Add(minutes(5)))
	// Step 1 again: b and c were paged at it already. Then b is no longer a target, d is.
	back := t0.Add(minutes(6))
	tm.exec(`update alerts set escalation_step = 0, next_escalation_at = $2 where id = $1`, alert, back)
	s := tm.run(task, back)
	ev := tm.lastEvent(alert)
	if ev.Event != "nobody_paged" || ev.Details["responder_ids"] != nil ||
		fmt.Sprint(ev.Details["already_paged_responder_ids"]) != fmt.Sprintf("[%d %d]", tm.b, tm.c) {
		t.Fatalf("event %v", ev)
	}
	wantSummary(t, s, map[string]int{"pages": 0, "alerts_escalated": 0, "nobody_paged": 1})
	tm.exec(`update alerts set escalation_step = 0, next_escalation_at = $2 where id = $1`, alert, back.Add(time.Second))
	tm.exec(`delete from escalation_step_targets where policy_id = $1 and position = 1 and responder_id = $2`, p, tm.b)
	tm.exec(`insert into escalation_step_targets (policy_id, position, responder_id) values ($1, 1, $2)`, p, tm.d)
	s = tm.run(task, back.Add(time.Second))
	wantSummary(t, s, map[string]int{"pages": 1, "alerts_escalated": 1})
	if ev := tm.lastEvent(alert); ev.Event != "escalated" || fmt.Sprint(ev.Details["responder_ids"]) != fmt.Sprintf("[%d]", tm.d) {
		t.Fatalf("event %v", ev)
	}
	// Every page is named by exactly one escalated event.
	named := map[string]int{}
	for _, e := range tm.events(alert) {
		if e.Event != "escalated" {
			continue
		}
		for _, r := range e.Details["responder_ids"].([]any) {
			named[fmt.Sprintf("%d/%d/%v", *e.Loop, *e.Step, r)]++
		}
	}
	for _, n := range tm.pages(alert) {
		if k := fmt.Sprintf("%d/%d/%d", n.Loop, n.Step, n.Responder); named[k] != 1 {
			t.Fatalf("page %v named %d times (%v)", n, named[k], named)
		}
	}
	if len(named) != len(tm.pages(alert)) {
		t.Fatalf("events name %v, pages %v", named, tm.pages(alert))
	}
}

// Finding 3: a step that reaches nobody records why and does not wait its delay: the next run
// pages the next step, never the same run. The report does not count it as an escalation.
func TestEmptyStepIsDueAtOnce(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	empty := tm.schedule(tm.tenantID, "starts tomorrow", "UTC")
	tm.dailyLayer(empty, 1, t0.Add(24*time.Hour), tm.b)
	p := tm.policy(tm.tenantID, 0)
	tm.step(p, 0, 7, scheduleT(empty))
	tm.step(p, 1, 7, responderT(tm.c))
	alert := tm.alert(tm.tenantID, p, t0)
	task := escalation.New(tm.pool, escalation.Options{})

	s := tm.run(task, t0)
	wantSummary(t, s, map[string]int{"pages": 0, "no_one_on_call": 1})
	// Once per run: a second run at the same instant does nothing.
	s = tm.run(task, t0)
	wantSummary(t, s, map[string]int{"pages": 0, "batches": 0})
	// The next run, a second later, pages step 1.
	s = tm.run(task, t0.Add(time.Second))
	wantSummary(t, s, map[string]int{"alerts_escalated": 1, "pages": 1})
	wantPages(t, tm.pages(alert), notification{Responder: tm.c, Step: 1})
	tm.wantState(alert, at(1), 0, t0.Add(time.Second+minutes(7)))
	evs := tm.events(alert)
	wantKinds(t, tm.eventKinds(alert), "no_one_on_call", "nobody_paged", "escalated")
	if evs[0].Details["schedule_id"] != float64(empty) || *evs[0].Step != 0 || *evs[1].Step != 0 ||
		evs[1].Details["next_escalation_at"] != t0.Add(time.Microsecond).Format(time.RFC3339Nano) {
		t.Fatalf("events %v", evs)
	}

	r := report.New(tm.pool, report.Options{CatchupDays: 1})
	if _, err := r.Run(tm.ctx, t0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var total, step0 int
	if err := tm.pool.QueryRow(tm.ctx, `
		select (body->'escalations'->>'total')::int,
		       (select count(*) from jsonb_array_elements(body->'escalations'->'by_step') e where (e->>'step')::int = 0)
		from reports where tenant_id = $1`, tm.tenantID).Scan(&total, &step0); err != nil {
		t.Fatal(err)
	}
	if total != 1 || step0 != 0 {
		t.Fatalf("report: %d escalations, %d entries for step 0; want 1 and none", total, step0)
	}
}

// Finding 5: the ack timeout applies only a policy of the alert's own tenant. An acknowledged
// alert on another tenant's policy keeps its acknowledgement (bad_policy, once); one acknowledged
// without acknowledged_at is left alone (escalation_error, once). The others still time out.
func TestAckTimeoutBadRows(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	own := tm.policy(tm.tenantID, 0)
	tm.step(own, 0, 5, responderT(tm.a))
	tm.tenant("t2")
	foreign := tm.policy("t2", 0)
	tm.step(foreign, 0, 5, responderT(tm.responder("t2", "stranger")))
	tm.exec(`update escalation_policies set ack_timeout_minutes = 30`)
	good := tm.alert(tm.tenantID, own, t0)
	onForeign := tm.alert(tm.tenantID, foreign, t0)
	unstamped := tm.alert(tm.tenantID, own, t0)
	acked := t0.Add(time.Minute)
	tm.exec(`update alerts set status = 'acknowledged', acknowledged_at = $2, acknowledged_by = 'someone', next_escalation_at = null
	         where id = any($1)`, []int64{good, onForeign}, acked)
	tm.exec(`update alerts set status = 'acknowledged', acknowledged_at = null, acknowledged_by = 'api', next_escalation_at = null
	         where id = $1`, unstamped)
	task := escalation.New(tm.pool, escalation.Options{})

	for i, now := range []time.Time{acked.Add(minutes(31)), acked.Add(minutes(60)), acked.Add(48 * time.Hour)} {
		s := tm.run(task, now)
		if i == 0 {
			wantSummary(t, s, map[string]int{"ack_timeouts": 1, "alerts_escalated": 1, "bad_policy": 1, "errors": 1})
		} else {
			wantSummary(t, s, map[string]int{"ack_timeouts": 0, "bad_policy": 0, "errors": 0})
		}
	}
	var status string
	var ackAt *time.Time
	for _, a := range []int64{onForeign, unstamped} {
		if err := tm.pool.QueryRow(tm.ctx, `select status, acknowledged_at from alerts where id = $1`, a).Scan(&status, &ackAt); err != nil {
			t.Fatal(err)
		}
		if status != "acknowledged" || (a == onForeign && (ackAt == nil || !ackAt.Equal(acked))) {
			t.Fatalf("alert %d: %s acknowledged at %v: the acknowledgement was not kept", a, status, ackAt)
		}
		wantPages(t, tm.pages(a))
	}
	evs := tm.events(onForeign)
	if len(evs) != 1 || evs[0].Event != "bad_policy" || evs[0].Details["reason"] != "policy belongs to another tenant" ||
		evs[0].Details["policy_tenant_id"] != "t2" || evs[0].Details["acknowledgement"] != "kept" {
		t.Fatalf("foreign policy: events %v", evs)
	}
	evs = tm.events(unstamped)
	if len(evs) != 1 || evs[0].Event != "escalation_error" || evs[0].Details["problem"] != "acknowledged_at_missing" {
		t.Fatalf("no acknowledged_at: events %v", evs)
	}
	wantKinds(t, tm.eventKinds(good), "ack_timeout", "escalated", "policy_exhausted")
}
