package escalation

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/opsworker/opsworker/vocab"
)

var now = time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// testData: tenant t1; its policy 7, repeat 1, positions 0 (schedule 100, on which 4 is on call,
// and responder 1; 5 minutes), 1 (responder 2; 10 minutes) and 3 (responders 3 and 1; 15
// minutes); its policy 8 without steps; policy 9 of tenant t2.
func testData() *batchData {
	r := func(id int64) target { return target{ResponderID: id, ResponderFound: true, ResponderTenant: "t1"} }
	return &batchData{
		policies: map[int64]*policy{
			7: {ID: 7, TenantID: "t1", RepeatCount: 1, Steps: []step{
				{Position: 0, DelayMinutes: 5, Targets: []target{{ScheduleID: 100}, r(1)}},
				{Position: 1, DelayMinutes: 10, Targets: []target{r(2)}},
				{Position: 3, DelayMinutes: 15, Targets: []target{r(3), r(1)}},
			}},
			8: {ID: 8, TenantID: "t1"},
			9: {ID: 9, TenantID: "t2", Steps: []step{{Position: 0, DelayMinutes: 1, Targets: []target{r(1)}}}},
		},
		tenants: map[string]bool{"t1": true},
		onCall:  map[int64]onCall{100: {TenantID: "t1", ResponderID: 4, OK: true}},
	}
}

func kinds(o outcome) []string {
	var k []string
	for _, e := range o.Events {
		k = append(k, string(e.Kind))
	}
	return k
}

func responders(o outcome) []int64 {
	var r []int64
	for _, p := range o.Pages {
		r = append(r, p.ResponderID)
	}
	return r
}

func TestPlanWalksThePolicy(t *testing.T) {
	for _, tc := range []struct {
		step       *int32
		loop       int32
		kind       outcomeKind
		wantStep   *int32
		wantLoop   int32
		wantPaged  []int64
		wantDelay  int
		wantEvents []string
	}{
		{nil, 0, kindEscalated, ptr[int32](0), 0, []int64{4, 1}, 5, []string{"escalated"}},
		{ptr[int32](0), 0, kindEscalated, ptr[int32](1), 0, []int64{2}, 10, []string{"escalated"}},
		// Position 2 does not exist: the next position after 1 is 3.
		{ptr[int32](1), 0, kindEscalated, ptr[int32](3), 0, []int64{3, 1}, 15, []string{"escalated"}},
		{ptr[int32](3), 0, kindEscalated, ptr[int32](0), 1, []int64{4, 1}, 5, []string{"escalated"}},
		{ptr[int32](3), 1, kindExhausted, ptr[int32](3), 1, nil, 0, []string{"policy_exhausted"}},
		// An ack timeout restarted the alert past the repeat limit: one more pass.
		{nil, 2, kindEscalated, ptr[int32](0), 2, []int64{4, 1}, 5, []string{"escalated"}},
		{ptr[int32](3), 2, kindExhausted, ptr[int32](3), 2, nil, 0, []string{"policy_exhausted"}},
	} {
		name := fmt.Sprintf("after nothing, loop %d", tc.loop)
		if tc.step != nil {
			name = fmt.Sprintf("after position %d, loop %d", *tc.step, tc.loop)
		}
		t.Run(name, func(t *testing.T) {
			o := planned(dueAlert{ID: 1, TenantID: "t1", PolicyID: ptr[int64](7), Step: tc.step, Loop: tc.loop}, testData())
			if o.Kind != tc.kind || !eq(o.Step, tc.wantStep) || o.Loop != tc.wantLoop {
				t.Fatalf("kind %d step %v loop %d, want %d %v %d", o.Kind, o.Step, o.Loop, tc.kind, tc.wantStep, tc.wantLoop)
			}
			if !slices.Equal(responders(o), tc.wantPaged) || !slices.Equal(kinds(o), tc.wantEvents) {
				t.Fatalf("paged %v events %v", responders(o), kinds(o))
			}
			if tc.kind == kindEscalated {
				if !o.Escalated || !o.Next.Equal(now.Add(time.Duration(tc.wantDelay)*time.Minute)) {
					t.Fatalf("next %v", o.Next)
				}
			} else if o.Escalated || o.Next != nil {
				t.Fatalf("not escalated, yet escalated %v next %v", o.Escalated, o.Next)
			}
		})
	}
}

// planned decides and plans a's escalation at now, the outbox holding no page of its step.
func planned(a dueAlert, d *batchData) outcome {
	return plan(decide(a, d), d, now)
}

func eq(a, b *int32) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func TestPlanDeduplicatesAndRecordsTheSchedule(t *testing.T) {
	d := testData()
	d.onCall[100] = onCall{TenantID: "t1", ResponderID: 1, OK: true} // also a direct target
	o := planned(dueAlert{ID: 1, TenantID: "t1", PolicyID: ptr[int64](7)}, d)
	if len(o.Pages) != 1 || o.Pages[0].ResponderID != 1 || o.Pages[0].ScheduleID == nil || *o.Pages[0].ScheduleID != 100 {
		t.Fatalf("pages %+v", o.Pages)
	}
	ev := o.Events[0].Details
	if fmt.Sprint(ev["responder_ids"]) != "[1]" || fmt.Sprint(ev["schedules"]) != "[{100 1}]" {
		t.Fatalf("escalated details %v", ev)
	}
}

func TestPlanBadData(t *testing.T) {
	for _, tc := range []struct {
		name       string
		alert      dueAlert
		change     func(d *batchData)
		kind       outcomeKind
		wantPaged  []int64
		wantEvents []string
		problem    string
	}{
		{name: "no policy", alert: dueAlert{TenantID: "t1"}, kind: kindNoPolicy, wantEvents: []string{"no_policy"}},
		{name: "policy gone", alert: dueAlert{TenantID: "t1", PolicyID: ptr[int64](70)}, kind: kindNoPolicy, wantEvents: []string{"no_policy"}},
		{name: "no steps", alert: dueAlert{TenantID: "t1", PolicyID: ptr[int64](8)}, kind: kindBadPolicy, wantEvents: []string{"bad_policy"}},
		{name: "policy of another tenant", alert: dueAlert{TenantID: "t1", PolicyID: ptr[int64](9)}, kind: kindBadPolicy, wantEvents: []string{"bad_policy"}},
		{name: "nobody on call", alert: dueAlert{TenantID: "t1", PolicyID: ptr[int64](7)},
			change: func(d *batchData) { d.onCall[100] = onCall{TenantID: "t1"} },
			kind:   kindEscalated, wantPaged: []int64{1}, wantEvents: []string{"no_one_on_call", "escalated"}},
		{name: "broken schedule", alert: dueAlert{TenantID: "t1", PolicyID: ptr[int64](7)},
			change: func(d *batchData) { d.onCall[100] = onCall{Problem: problemScheduleInvalid, Err: "unknown time zone"} },
			kind:   kindEscalated, wantPaged: []int64{1}, wantEvents: []string{"escalation_error", "escalated"}, problem: problemScheduleInvalid},
		{name: "schedule of another tenant", alert: dueAlert{TenantID: "t1", PolicyID: ptr[int64](7)},
			change: func(d *batchData) { d.onCall[100] = onCall{TenantID: "t2", ResponderID: 9, OK: true} },
			kind:   kindEscalated, wantPaged: []int64{1}, wantEvents: []string{"escalation_error", "escalated"}, problem: problemScheduleOtherTenant},
		{name: "responder gone", alert: dueAlert{TenantID: "t1", PolicyID: ptr[int64](7)},
			change: func(d *batchData) { d.policies[7].Steps[0].Targets[1].ResponderFound = false },
			kind:   kindEscalated, wantPaged: []int64{4}, wantEvents: []string{"escalation_error", "escalated"}, problem: problemResponderNotFound},
		{name: "no targets", alert: dueAlert{TenantID: "t1", PolicyID: ptr[int64](7)},
			change: func(d *batchData) { d.policies[7].Steps[0].Targets = nil },
			kind:   kindEscalated, wantEvents: []string{"escalation_error", "nobody_paged"}, problem: problemStepHasNoTargets},
		{name: "tenant missing", alert: dueAlert{TenantID: "t1", PolicyID: ptr[int64](7)},
			change: func(d *batchData) { d.tenants = map[string]bool{} },
			kind:   kindNoTenant, wantEvents: []string{"escalation_error"}, problem: problemTenantNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := testData()
			if tc.change != nil {
				tc.change(d)
			}
			o := planned(tc.alert, d)
			if o.Kind != tc.kind || !slices.Equal(responders(o), tc.wantPaged) || !slices.Equal(kinds(o), tc.wantEvents) {
				t.Fatalf("kind %d paged %v events %v", o.Kind, responders(o), kinds(o))
			}
			if tc.kind != kindEscalated {
				if o.Next != nil || o.Escalated {
					t.Fatalf("next %v escalated %v, want neither", o.Next, o.Escalated)
				}
			} else if o.Next == nil {
				t.Fatal("a step with failed targets must still advance")
			}
			if tc.problem != "" {
				found := false
				for _, e := range o.Events {
					found = found || (e.Kind == vocab.EventError && e.Details["problem"] == tc.problem)
				}
				if !found {
					t.Fatalf("no %s problem in %+v", tc.problem, o.Events)
				}
			}
		})
	}
}

// A next escalation past the supported range is bad data: the step is paged, the problem
// recorded, and no next escalation is set (issue 17.6).
func TestPlanNextOutOfRange(t *testing.T) {
	d := testData()
	late := time.Date(2199, 12, 31, 23, 58, 0, 0, time.UTC)
	o := plan(decide(dueAlert{ID: 1, TenantID: "t1", PolicyID: ptr[int64](7)}, d), d, late) // 5 minutes: past the range
	if !slices.Equal(kinds(o), []string{"escalation_error", "escalated"}) || o.Events[0].Details["problem"] != problemNextOutOfRange {
		t.Fatalf("events %+v", o.Events)
	}
	if o.Next != nil || !o.Escalated || !slices.Equal(o.Paged, []int64{4, 1}) || o.Events[1].Details["next_escalation_at"] != nil {
		t.Fatalf("next %v escalated %v paged %v details %v", o.Next, o.Escalated, o.Paged, o.Events[1].Details)
	}
	// The last microsecond of the range: a step that paged nobody would be due at its end.
	d.onCall[100] = onCall{TenantID: "t1"}
	d.policies[7].Steps[0].Targets = d.policies[7].Steps[0].Targets[:1]
	o = plan(decide(dueAlert{ID: 1, TenantID: "t1", PolicyID: ptr[int64](7)}, d), d, time.Date(2199, 12, 31, 23, 59, 59, 999999000, time.UTC))
	if !o.Empty || o.Next != nil || !slices.Equal(kinds(o), []string{"no_one_on_call", "escalation_error", "nobody_paged"}) {
		t.Fatalf("empty %v next %v events %v", o.Empty, o.Next, kinds(o))
	}
}

// The planner names what the load must read for the decisions it made: each schedule a decided
// step pages, once, and the outbox key of each step decided; nothing for an alert that pages
// nothing.
func TestNeedsOf(t *testing.T) {
	d := testData()
	var decisions []decision
	for _, a := range []dueAlert{
		{ID: 1, TenantID: "t1", PolicyID: ptr[int64](7)},                               // position 0: schedule 100
		{ID: 2, TenantID: "t1", PolicyID: ptr[int64](7), Step: ptr[int32](0), Pass: 2}, // position 1
		{ID: 3, TenantID: "t1", PolicyID: ptr[int64](7), Step: ptr[int32](3), Loop: 0}, // loop 1, position 0 again
		{ID: 4, TenantID: "t1", PolicyID: ptr[int64](8)},                               // no steps
		{ID: 5, TenantID: "t1", PolicyID: ptr[int64](7), Step: ptr[int32](3), Loop: 1}, // exhausted
	} {
		decisions = append(decisions, decide(a, d))
	}
	n := needsOf(decisions)
	got := fmt.Sprint(n.Schedules, n.Steps.Alerts, n.Steps.Passes, n.Steps.Loops, n.Steps.Steps)
	if want := "[100] [1 2 3] [0 2 0] [0 0 1] [0 1 0]"; got != want {
		t.Fatalf("needs %s, want %s", got, want)
	}
}
