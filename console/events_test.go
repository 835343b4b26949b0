package console

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Every event the worker records reads as a sentence that names the responders, schedules and
// policies its details refer to by id, linking them: a responder to their page on the alert, a
// schedule to the On-call page, the alert's policy to its steps; an id that names nothing left
// says so. Times in the details are said in the page's zone.
func TestDescribeEvents(t *testing.T) {
	pass0, loop0 := int32(0), int32(0)
	step := func(n int32) *int32 { return &n }
	at := time.Date(2027, 5, 4, 0, 10, 0, 0, time.UTC) // 02:10 in Berlin
	tl := timeline{
		Alert: alertRow{ID: 1, TenantID: "acme"},
		Pages: []pageRow{
			{ID: 11, Responder: responderRef{ID: 1, Name: "Anna"}, EscalationStep: 0},
			{ID: 12, Responder: responderRef{ID: 2, Name: "Ben"}, EscalationStep: 1},
		},
		Names: names{
			Responders: map[int64]string{1: "Anna", 2: "Ben"},
			Policies:   map[int64]string{5: "Primary, then Ben", 6: "Old policy"},
			Schedules:  map[int64]scheduleName{7: {Name: "Primary", TenantID: "acme"}},
		},
		Policy: &policyView{ID: 5, Name: "Primary, then Ben"},
	}
	ev := func(kind string, st *int32, details string) eventRow {
		return eventRow{At: at, Event: kind, EscalationPass: pass0, EscalationLoop: &loop0, EscalationStep: st, Details: json.RawMessage(details)}
	}
	d := newDescriber(&tl, berlin)
	for _, c := range []struct {
		e     eventRow
		want  string
		links []string // Text→Href, in order
	}{
		{ev("escalated", step(0), `{"policy_id": 5, "schedules": [{"schedule_id": 7, "responder_id": 1}], "delay_minutes": 5, "responder_ids": [1], "next_escalation_at": "2027-05-04T02:15:00+02:00"}`),
			"Paged Anna (on call for Primary) — step 1 of Primary, then Ben; next escalation in 5 minutes, at 02:15.",
			[]string{"Anna→#page-11", "Primary→/ui/oncall?tenant=acme#schedule-7", "Primary, then Ben→#policy"}},
		{ev("escalated", step(1), `{"policy_id": 5, "schedules": [], "delay_minutes": 1, "responder_ids": [2, 9], "restart": "policy_changed", "previous_policy_id": 6, "next_escalation_at": "2027-05-05T00:00:00Z"}`),
			"Restarted: the policy changed from policy Old policy. Paged Ben and responder #9 (deleted) — step 2 of Primary, then Ben; next escalation in 1 minute, at Wed 2027-05-05 02:00.",
			[]string{"Ben→#page-12", "Primary, then Ben→#policy"}},
		{ev("nobody_paged", step(1), `{"policy_id": 5, "next_escalation_at": "2027-05-04T00:10:00.000001Z"}`),
			"Nobody was paged at step 2 of Primary, then Ben; the next step is due at once.", []string{"Primary, then Ben→#policy"}},
		{ev("no_one_on_call", step(0), `{"schedule_id": 7, "schedule_problems": ["participant 9 is not a responder of the tenant"]}`),
			"Nobody was on call for Primary: participant 9 is not a responder of the tenant.", []string{"Primary→/ui/oncall?tenant=acme#schedule-7"}},
		{ev("policy_exhausted", step(1), `{"policy_id": 5, "repeat_count": 2}`),
			"Every step of Primary, then Ben was paged, with 2 repeats, and nobody acknowledged: no more pages.", []string{"Primary, then Ben→#policy"}},
		{ev("no_policy", nil, `{"policy_id": 8, "reason": "policy not found"}`),
			"The escalation policy, policy #8 (deleted), cannot be used: policy not found; nobody is paged.", nil},
		{ev("no_policy", nil, `{}`), "The alert has no escalation policy; nobody is paged.", nil},
		{ev("bad_policy", nil, `{"policy_id": 6, "reason": "policy belongs to another tenant", "policy_tenant_id": "globex", "acknowledgement": "kept"}`),
			"The escalation policy, policy Old policy, cannot be used: policy belongs to another tenant (it is tenant globex's); the acknowledgement is kept.", nil},
		{ev("escalation_error", step(0), `{"problem": "responder_not_found", "responder_id": 9}`),
			"Responder #9 (deleted), a target of step 1, no longer exists: skipped.", nil},
		{ev("escalation_error", step(0), `{"problem": "schedule_invalid", "schedule_id": 7, "error": "unknown zone Mars/Base"}`),
			"Schedule Primary cannot be used (schedule invalid: unknown zone Mars/Base); skipped.", []string{"Primary→/ui/oncall?tenant=acme#schedule-7"}},
		{ev("escalation_error", step(2), `{"problem": "delay_out_of_range", "policy_id": 5, "position": 2, "delay_minutes": 600000}`),
			"Step 3 of Primary, then Ben waits 600000 minutes, more than a year: it waits a year.", []string{"Primary, then Ben→#policy"}},
		{ev("ack_timeout", nil, `{"acknowledged_at": "2027-05-04T00:14:00Z", "acknowledged_by": "anna", "ack_timeout_minutes": 30}`),
			"Acknowledged by anna at 02:14 and not resolved within 30 minutes: triggered again, escalating from the first step.", nil},
		{ev("delivery_failed", step(1), `{"delivery_id": 3, "notification_id": 12, "responder_id": 2, "channel": "webhook", "reason": "http_status", "attempts": 1, "error": "HTTP 410 Gone"}`),
			"The webhook delivery #3 to Ben failed for good after 1 attempt: http status (HTTP 410 Gone).", []string{"Ben→#page-12"}},
		{ev("acknowledged", nil, `{"via": "link", "responder_id": 1}`), "Acknowledged by Anna via link.", nil},
		{ev("something_new", nil, `{"schedule_id": 7, "count": 3}`), "Something new: count 3, schedule Primary.", []string{"Primary→/ui/oncall?tenant=acme#schedule-7"}},
		{ev("escalated", step(0), `not json`), "Escalated — step 1.", nil},
	} {
		p := d.describe(c.e)
		if got := p.String(); got != c.want {
			t.Errorf("%s %s:\n got %q\nwant %q", c.e.Event, c.e.Details, got, c.want)
		}
		var links []string
		for _, x := range p {
			if x.Href != "" {
				links = append(links, x.Text+"→"+x.Href)
			}
		}
		if strings.Join(links, " ") != strings.Join(c.links, " ") {
			t.Errorf("%s %s: links %q, want %q", c.e.Event, c.e.Details, links, c.links)
		}
	}
	if r := referredIDs(timeline{Events: []eventRow{
		ev("escalated", step(0), `{"policy_id": 5, "previous_policy_id": 6, "schedules": [{"schedule_id": 7, "responder_id": 1}], "responder_ids": [2, 1], "already_paged_responder_ids": [3]}`),
		ev("delivery_failed", step(0), `{"responder_id": 4, "notification_id": 12}`),
	}}); joinIDs(r.responders) != "1 2 3 4" || joinIDs(r.policies) != "5 6" || joinIDs(r.schedules) != "7" {
		t.Errorf("referred ids %+v", r)
	}
}

func joinIDs(ids []int64) string {
	b, _ := json.Marshal(ids)
	return strings.Trim(strings.ReplaceAll(string(b), ",", " "), "[]")
}
