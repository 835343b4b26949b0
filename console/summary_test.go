package console

import (
	"encoding/json"
	"testing"

	"github.com/opsworker/opsworker/scheduler"
)

// A run's summary reads as a sentence of its non-zero counters, in the table's order, known
// counters in words and unknown ones as "name N"; an idle successful run did "nothing to do".
func TestRunSummary(t *testing.T) {
	escalation := func(kv map[string]int) scheduler.Summary {
		s := scheduler.Summary{}
		for _, k := range []string{"alerts_escalated", "pages", "no_one_on_call", "nobody_paged", "restarts", "policies_exhausted",
			"ack_timeouts", "no_policy", "bad_policy", "errors", "batches", "deliveries", "no_contact_method"} {
			s[k] = kv[k]
		}
		return s
	}
	// What job_runs gives back: the same summary through JSON, numbers as float64.
	stored := func(s scheduler.Summary) scheduler.Summary {
		b, _ := json.Marshal(s)
		var out scheduler.Summary
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		status string
		s      scheduler.Summary
		want   string
	}{
		{"succeeded", escalation(map[string]int{"alerts_escalated": 2, "pages": 3, "deliveries": 1, "batches": 1}), "3 pages for 2 alerts, 1 delivery queued"},
		{"succeeded", escalation(map[string]int{"alerts_escalated": 1, "pages": 1, "deliveries": 2, "nobody_paged": 1, "no_one_on_call": 1, "batches": 2}),
			"1 page for 1 alert, 2 deliveries queued, 1 step reached nobody, a schedule had nobody on call"},
		{"succeeded", escalation(map[string]int{"policies_exhausted": 1, "ack_timeouts": 2, "errors": 1, "no_contact_method": 1, "batches": 1}),
			"1 page to someone without a contact method, 2 acknowledgements timed out, 1 alert exhausted its policy, 1 error"},
		{"succeeded", escalation(map[string]int{"batches": 1}), "nothing to do"},
		{"succeeded", escalation(nil), "nothing to do"},
		{"failed", escalation(nil), ""},
		{"running", nil, ""},
		{"succeeded", scheduler.Summary{"tenants": 2, "reports_written": 3, "days_caught_up": 2, "days_held_back": 0, "days_covered": 0,
			"tenants_failed": 0, "schedules_failed": 1}, "3 reports written (2 of them for earlier days), 1 broken schedule reported"},
		{"succeeded", scheduler.Summary{"tenants": 2, "reports_written": 0, "days_held_back": 1}, "1 day held back while another job runs"},
		{"succeeded", scheduler.Summary{"tenants": 2, "reports_written": 0}, "nothing to do"},
		// Another task's counters, unknown to the table: "name N", by name; zeros, false and "" left out.
		{"succeeded", scheduler.Summary{"followups_sent": 2, "monitors_checked": 0, "alerts_opened": 1, "mode": "catch-up", "dry": true, "late": false},
			"alerts opened 1, dry, followups sent 2, mode: catch-up"},
	} {
		for _, s := range []scheduler.Summary{c.s, stored(c.s)} {
			if got := runSummary(scheduler.Run{Status: c.status, Summary: s}); got != c.want {
				t.Errorf("%s %v:\n got %q\nwant %q", c.status, s, got, c.want)
			}
		}
	}
}
