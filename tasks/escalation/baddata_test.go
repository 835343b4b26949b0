package escalation_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/tasks/escalation"
)

// Bad rows among good ones: the good alerts are paged, each bad one has its event, and the
// summary counts them.
func TestBadDataDoesNotStopTheOthers(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	good := tm.policy(tm.tenantID, 0)
	tm.step(good, 0, 5, scheduleT(tm.sched), responderT(tm.b))

	mars := tm.schedule(tm.tenantID, "on Mars", "Mars/Olympus_Mons")
	tm.dailyLayer(mars, 1, t0.Add(-24*time.Hour), tm.d)
	onMars := tm.policy(tm.tenantID, 0)
	tm.step(onMars, 0, 5, scheduleT(mars), responderT(tm.c))

	gone := tm.schedule(tm.tenantID, "deleted", "UTC")
	tm.dailyLayer(gone, 1, t0.Add(-24*time.Hour), tm.d)
	goneSchedule := tm.policy(tm.tenantID, 0)
	tm.step(goneSchedule, 0, 5, scheduleT(gone))
	tm.step(goneSchedule, 1, 5, responderT(tm.c))

	leaver := tm.responder(tm.tenantID, "leaver")
	goneResponder := tm.policy(tm.tenantID, 0)
	tm.step(goneResponder, 0, 7, responderT(leaver), scheduleT(tm.sched))

	empty := tm.policy(tm.tenantID, 0)

	tm.tenant("t2")
	foreign := tm.policy("t2", 0)
	tm.step(foreign, 0, 5, responderT(tm.responder("t2", "stranger")))

	alerts := map[string]int64{
		"good":           tm.alert(tm.tenantID, good, t0),
		"unknown zone":   tm.alert(tm.tenantID, onMars, t0),
		"deleted sched":  tm.alert(tm.tenantID, goneSchedule, t0),
		"deleted resp":   tm.alert(tm.tenantID, goneResponder, t0),
		"no steps":       tm.alert(tm.tenantID, empty, t0),
		"no policy":      tm.alert(tm.tenantID, 0, t0),
		"policy gone":    tm.alert(tm.tenantID, 987654, t0),
		"foreign policy": tm.alert(tm.tenantID, foreign, t0),
		"no tenant":      tm.alert("ghost", good, t0),
		"good too":       tm.alert(tm.tenantID, good, t0),
	}
	tm.exec(`delete from oncall_schedules where id = $1`, gone)
	tm.exec(`delete from responders where id = $1`, leaver)

	task := escalation.New(tm.pool, escalation.Options{BatchSize: 4}) // the bad ones spread over batches
	s := tm.run(task, t0)
	wantSummary(t, s, map[string]int{
		"alerts_escalated": 4, // good, good too, unknown zone, deleted resp
		"nobody_paged":     1, // deleted sched
		"pages":            2 + 2 + 1 + 1,
		"errors":           3, // unknown zone, deleted sched (no targets left), no tenant
		"no_policy":        2,
		"bad_policy":       2,
		"no_one_on_call":   0,
		"batches":          3,
	})

	for _, name := range []string{"good", "good too"} {
		wantPages(t, tm.pages(alerts[name]), notification{Responder: tm.a, Schedule: tm.sched}, notification{Responder: tm.b})
		wantKinds(t, tm.eventKinds(alerts[name]), "escalated")
		tm.wantState(alerts[name], at(0), 0, t0.Add(minutes(5)))
	}

	// The broken schedule is skipped and named; the step's responder is still paged.
	a := alerts["unknown zone"]
	wantPages(t, tm.pages(a), notification{Responder: tm.c})
	wantKinds(t, tm.eventKinds(a), "escalation_error", "escalated")
	if d := tm.events(a)[0].Details; d["problem"] != "schedule_invalid" || d["schedule_id"] != float64(mars) ||
		d["error"] == nil {
		t.Fatalf("unknown zone: %v", d)
	}
	tm.wantState(a, at(0), 0, t0.Add(minutes(5)))

	// The deleted schedule took its target with it: the step pages nobody, says so, and advances
	// without waiting its delay, so the next run pages step 1.
	a = alerts["deleted sched"]
	wantPages(t, tm.pages(a))
	wantKinds(t, tm.eventKinds(a), "escalation_error", "nobody_paged")
	if d := tm.events(a)[0].Details; d["problem"] != "step_has_no_targets" || d["position"] != float64(0) {
		t.Fatalf("deleted schedule: %v", d)
	}
	tm.wantState(a, at(0), 0, t0.Add(time.Microsecond))

	// The deleted responder's target is gone; the schedule is paged.
	a = alerts["deleted resp"]
	wantPages(t, tm.pages(a), notification{Responder: tm.a, Schedule: tm.sched})
	tm.wantState(a, at(0), 0, t0.Add(minutes(7)))

	// Nothing to page: one event each, and never again.
	for name, want := range map[string]struct{ kind, detail, value string }{
		"no steps":       {"bad_policy", "reason", "policy has no steps"},
		"no policy":      {"no_policy", "", ""},
		"policy gone":    {"no_policy", "reason", "policy not found"},
		"foreign policy": {"bad_policy", "policy_tenant_id", "t2"},
		"no tenant":      {"escalation_error", "problem", "tenant_not_found"},
	} {
		a := alerts[name]
		evs := tm.events(a)
		if len(evs) != 1 || evs[0].Event != want.kind || (want.detail != "" && evs[0].Details[want.detail] != want.value) {
			t.Fatalf("%s: events %v, want one %s with %s %q", name, evs, want.kind, want.detail, want.value)
		}
		wantPages(t, tm.pages(a))
		tm.wantState(a, nil, 0, time.Time{})
	}

	// Five minutes later (the first run after t0) the deleted schedule's alert pages step 1, the
	// one-step policies are exhausted, and the stopped alerts stay stopped.
	s = tm.run(task, t0.Add(minutes(5)))
	wantSummary(t, s, map[string]int{"alerts_escalated": 1, "pages": 1, "policies_exhausted": 3,
		"no_policy": 0, "bad_policy": 0, "errors": 0})
	wantPages(t, tm.pages(alerts["deleted sched"]), notification{Responder: tm.c, Step: 1})
}

// Issue 14, finding 4: a responder deleted while still a participant no longer disables the
// schedule. Whoever else is on call is paged; the deleted one's turns are gaps, recorded as
// no_one_on_call with the schedule's problems.
func TestStaleParticipantLeavesGapsNotABrokenSchedule(t *testing.T) {
	f := newFixture(t)
	tenant := f.tenant("t1")
	ann, leaver := f.responder(tenant, "Ann"), f.responder(tenant, "Leaver")
	sched := f.schedule(tenant, "daily", "UTC")
	f.dailyLayer(sched, 1, t0.Add(-48*time.Hour), ann, leaver) // Ann on t0-48h, Leaver on t0-24h, Ann on t0, ...
	p := f.policy(tenant, 0)
	f.step(p, 0, 5, scheduleT(sched))
	f.exec(`delete from responders where id = $1`, leaver)

	annDay := f.alert(tenant, p, t0)
	leaverDay := f.alert(tenant, p, t0.Add(24*time.Hour))
	task := escalation.New(f.pool, escalation.Options{})
	f.run(task, t0)
	if got := f.pages(annDay); len(got) != 1 || got[0].Responder != ann || got[0].Schedule != sched {
		t.Fatalf("on Ann's day: pages %v, want Ann through the schedule", got)
	}
	f.run(task, t0.Add(24*time.Hour))
	if got := f.pages(leaverDay); len(got) != 0 {
		t.Fatalf("on the deleted responder's day: pages %v, want none", got)
	}
	var found bool
	for _, ev := range f.events(leaverDay) {
		if ev.Event != "no_one_on_call" {
			continue
		}
		problems, _ := ev.Details["schedule_problems"].([]any)
		if len(problems) == 1 && strings.Contains(problems[0].(string), fmt.Sprintf("participant %d is not a responder", leaver)) {
			found = true
		}
	}
	if !found {
		t.Fatalf("events %v: want no_one_on_call naming the stale participant", f.events(leaverDay))
	}
}
