package escalation

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/opsworker/opsworker/vocab"
)

// A restart is told apart from an alert's first escalation and from the ack timeout's return to
// position 0 (see decide).
func TestPlanRestarts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		alert     dueAlert
		wantStep  int32
		wantLoop  int32
		wantPass  int32
		restart   string
		wantPaged []int64
	}{
		{name: "first escalation", alert: dueAlert{Pass: 0},
			wantStep: 0, wantLoop: 0, wantPass: 0, wantPaged: []int64{4, 1}},
		{name: "next step", alert: dueAlert{Step: ptr[int32](0), Pass: 1, EscalatedPolicyID: ptr[int64](7)},
			wantStep: 1, wantLoop: 0, wantPass: 1, wantPaged: []int64{2}},
		{name: "step reset by another service", alert: dueAlert{Loop: 1, Pass: 1, EscalatedPolicyID: ptr[int64](7)},
			wantStep: 0, wantLoop: 0, wantPass: 2, restart: restartStepReset, wantPaged: []int64{4, 1}},
		{name: "ack timeout rewound: same pass, its loop", alert: dueAlert{Loop: 1, Pass: 1, EscalatedPolicyID: ptr[int64](7), Rewound: true},
			wantStep: 0, wantLoop: 1, wantPass: 1, wantPaged: []int64{4, 1}},
		{name: "policy changed mid-pass", alert: dueAlert{Step: ptr[int32](1), Loop: 1, EscalatedPolicyID: ptr[int64](6)},
			wantStep: 0, wantLoop: 0, wantPass: 1, restart: restartPolicyChanged, wantPaged: []int64{4, 1}},
		{name: "policy changed after exhaustion", alert: dueAlert{Step: ptr[int32](3), Loop: 1, EscalatedPolicyID: ptr[int64](6)},
			wantStep: 0, wantLoop: 0, wantPass: 1, restart: restartPolicyChanged, wantPaged: []int64{4, 1}},
		{name: "policy changed while rewound", alert: dueAlert{Loop: 2, EscalatedPolicyID: ptr[int64](6), Rewound: true},
			wantStep: 0, wantLoop: 0, wantPass: 1, restart: restartPolicyChanged, wantPaged: []int64{4, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.alert
			a.ID, a.TenantID, a.PolicyID = 1, "t1", ptr[int64](7)
			o := planned(a, testData())
			if o.Kind != kindEscalated || *o.Step != tc.wantStep || o.Loop != tc.wantLoop || o.Pass != tc.wantPass || o.Rewound ||
				o.EscalatedPolicyID == nil || *o.EscalatedPolicyID != 7 {
				t.Fatalf("kind %d step %v loop %d pass %d rewound %v policy %v, want step %d loop %d pass %d on policy 7",
					o.Kind, *o.Step, o.Loop, o.Pass, o.Rewound, o.EscalatedPolicyID, tc.wantStep, tc.wantLoop, tc.wantPass)
			}
			if !slices.Equal(o.Paged, tc.wantPaged) {
				t.Fatalf("paged %v, want %v", o.Paged, tc.wantPaged)
			}
			ev := o.Events[len(o.Events)-1]
			if ev.Kind != vocab.EventEscalated || ev.Pass != tc.wantPass || *ev.Step != tc.wantStep || ev.Loop != tc.wantLoop {
				t.Fatalf("event %+v", ev)
			}
			if got, _ := ev.Details["restart"].(string); got != tc.restart {
				t.Fatalf("restart %q, want %q", got, tc.restart)
			}
		})
	}
}

// A restart is never taken for an alert it cannot page: bad data stays bad data, and the pass is
// kept until a usable policy restarts it.
func TestPlanNoRestartWithoutAUsablePolicy(t *testing.T) {
	for _, policyID := range []int64{8, 9, 70} { // no steps, another tenant's, gone
		o := planned(dueAlert{ID: 1, TenantID: "t1", PolicyID: &policyID, Step: ptr[int32](0), Pass: 3, EscalatedPolicyID: ptr[int64](7)}, testData())
		if o.Kind == kindEscalated || o.Pass != 3 || *o.EscalatedPolicyID != 7 || o.Next != nil {
			t.Fatalf("policy %d: %+v", policyID, o)
		}
	}
}

// An empty step records why and is due again at once: strictly after now, so not in this run.
func TestPlanEmptyStepIsDueAtOnce(t *testing.T) {
	d := testData()
	d.onCall[100] = onCall{TenantID: "t1"}                     // nobody on call
	d.policies[7].Steps[0].Targets[1].ResponderFound = false   // and the responder is gone
	at := time.Date(2027, 5, 3, 10, 0, 0, 123456789, time.UTC) // sub-microsecond: stored rounded down
	o := plan(decide(dueAlert{ID: 1, TenantID: "t1", PolicyID: ptr[int64](7)}, d), d, at)
	if !o.Empty || !slices.Equal(kinds(o), []string{"no_one_on_call", "escalation_error", "nobody_paged"}) || len(o.Paged) != 0 {
		t.Fatalf("empty %v events %v paged %v", o.Empty, kinds(o), o.Paged)
	}
	if want := time.Date(2027, 5, 3, 10, 0, 0, 123457000, time.UTC); !o.Next.Equal(want) {
		t.Fatalf("next %v, want %v (the microsecond after now)", o.Next, want)
	}
	if *o.Step != 0 || !o.Escalated {
		t.Fatalf("step %v escalated %v: the empty step is still the position reached", *o.Step, o.Escalated)
	}
}

// Pages the outbox already holds (another service moved escalation_step back by hand) are
// neither written again nor named as paged; a step whose pages all existed counts as one that
// paged nobody.
func TestPlanNamesOnlyNewPages(t *testing.T) {
	d := testData()
	d.paged = map[int64]map[int64]bool{1: {4: true}} // the schedule's responder
	o := planned(dueAlert{ID: 1, TenantID: "t1", PolicyID: ptr[int64](7)}, d)
	ev := o.Events[len(o.Events)-1]
	if ev.Kind != vocab.EventEscalated || fmt.Sprint(ev.Details["responder_ids"]) != "[1]" ||
		fmt.Sprint(ev.Details["already_paged_responder_ids"]) != "[4]" || fmt.Sprint(ev.Details["schedules"]) != "[]" {
		t.Fatalf("event %+v", ev)
	}
	if !slices.Equal(responders(o), []int64{1}) || !slices.Equal(o.Paged, []int64{1}) || len(o.ScheduleIDs) != 0 {
		t.Fatalf("pages %+v paged %v schedules %v", o.Pages, o.Paged, o.ScheduleIDs)
	}
	d.paged = map[int64]map[int64]bool{1: {4: true, 1: true}}
	o = planned(dueAlert{ID: 1, TenantID: "t1", PolicyID: ptr[int64](7)}, d)
	if ev := o.Events[len(o.Events)-1]; !o.Empty || ev.Kind != vocab.EventNobodyPaged || len(o.Pages) != 0 || !o.Next.Equal(now.Add(time.Microsecond)) {
		t.Fatalf("empty %v event %+v pages %v next %v", o.Empty, ev, o.Pages, o.Next)
	}
	// Another alert's pages are not this one's.
	o = planned(dueAlert{ID: 2, TenantID: "t1", PolicyID: ptr[int64](7)}, d)
	if !slices.Equal(o.Paged, []int64{4, 1}) {
		t.Fatalf("alert 2 paged %v", o.Paged)
	}
}

// A delay above a year is bad data: recorded, and the step waits a year, never an overflow.
func TestPlanDelayOutOfRange(t *testing.T) {
	d := testData()
	d.policies[7].Steps[0].DelayMinutes = 200000000
	o := planned(dueAlert{ID: 1, TenantID: "t1", PolicyID: ptr[int64](7)}, d)
	if !slices.Equal(kinds(o), []string{"escalation_error", "escalated"}) || o.Events[0].Details["problem"] != problemDelayOutOfRange {
		t.Fatalf("events %+v", o.Events)
	}
	if want := now.Add(525600 * time.Minute); !o.Next.Equal(want) {
		t.Fatalf("next %v, want %v", o.Next, want)
	}
}
