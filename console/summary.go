package console

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/opsworker/opsworker/scheduler"
)

// A run's summary is a flat map of counters (see each task's summary); pages and the API's
// summary_text say it as a sentence of its non-zero counters, in the order of the table below,
// then any counter the table does not know as "name N", by name.

// counter says one known counter: its phrase for 1 and for N (a %d). hidden counters are known
// but say nothing worth a reader's time on their own (what a run looked at, not what it did).
type counter struct {
	key       string
	one, many string
	hidden    bool
}

// counters are the tasks' summary keys (tasks/escalation/summary.go, tasks/report/task.go).
// escalation's alerts_escalated and pages make one phrase, "3 pages for 2 alerts".
var counters = []counter{
	// escalation
	{key: "pages", one: "1 page", many: "%d pages"},
	{key: "alerts_escalated", one: "1 alert escalated", many: "%d alerts escalated"},
	{key: "deliveries", one: "1 delivery queued", many: "%d deliveries queued"},
	{key: "no_contact_method", one: "1 page to someone without a contact method", many: "%d pages to people without a contact method"},
	{key: "nobody_paged", one: "1 step reached nobody", many: "%d steps reached nobody"},
	{key: "no_one_on_call", one: "a schedule had nobody on call", many: "%d times a schedule had nobody on call"},
	{key: "restarts", one: "1 alert restarted", many: "%d alerts restarted"},
	{key: "ack_timeouts", one: "1 acknowledgement timed out", many: "%d acknowledgements timed out"},
	{key: "policies_exhausted", one: "1 alert exhausted its policy", many: "%d alerts exhausted their policy"},
	{key: "no_policy", one: "1 alert without a policy", many: "%d alerts without a policy"},
	{key: "bad_policy", one: "1 alert with an unusable policy", many: "%d alerts with an unusable policy"},
	{key: "errors", one: "1 error", many: "%d errors"},
	{key: "batches", hidden: true}, // how the work was cut, not what was done
	// report
	{key: "reports_written", one: "1 report written", many: "%d reports written"},
	{key: "days_caught_up", one: "1 of them for an earlier day", many: "%d of them for earlier days"},
	{key: "days_held_back", one: "1 day held back while another job runs", many: "%d days held back while another job runs"},
	{key: "days_covered", one: "1 day already covered by reports in another zone", many: "%d days already covered by reports in another zone"},
	{key: "tenants_failed", one: "1 tenant failed", many: "%d tenants failed"},
	{key: "schedules_failed", one: "1 broken schedule reported", many: "%d broken schedules reported"},
	{key: "tenants", hidden: true},
}

// runSummary says what run did: its summary's sentence, "nothing to do" for a successful run
// whose counters are all zero, and "" for a run without a summary or a failed idle one.
func runSummary(r scheduler.Run) string {
	text := summaryText(r.Summary)
	if text == "" && len(r.Summary) > 0 && r.Status == "succeeded" {
		return "nothing to do"
	}
	return text
}

// summaryText says a summary's non-zero counters as a sentence ("" when there are none).
func summaryText(s scheduler.Summary) string {
	var parts []string
	known := map[string]bool{}
	n := func(key string) (int64, bool) { return count(s[key]) }
	for _, c := range counters {
		known[c.key] = true
		v, ok := n(c.key)
		if c.hidden || !ok || v == 0 {
			continue
		}
		switch c.key {
		case "pages":
			phrase := plural(c, v)
			if a, _ := n("alerts_escalated"); a > 0 {
				phrase += " for " + plural(counter{one: "1 alert", many: "%d alerts"}, a)
			}
			parts = append(parts, phrase)
			continue
		case "alerts_escalated":
			if p, _ := n("pages"); p > 0 {
				continue // said with the pages
			}
		case "days_caught_up":
			if len(parts) > 0 && strings.HasSuffix(parts[len(parts)-1], "written") {
				parts[len(parts)-1] += " (" + plural(c, v) + ")"
				continue
			}
		}
		parts = append(parts, plural(c, v))
	}
	var other []string
	for k, v := range s {
		if known[k] {
			continue
		}
		if text := fact(k, v); text != "" {
			other = append(other, text)
		}
	}
	slices.Sort(other)
	parts = append(parts, other...)
	return strings.Join(parts, ", ")
}

func plural(c counter, n int64) string {
	if n == 1 {
		return c.one
	}
	return fmt.Sprintf(c.many, n)
}

// count reads a counter: JSON numbers come back from the run history as float64, a run's own summary
// holds ints.
func count(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// fact says an unknown entry of a summary: "name N" for a number, "name" for true, "name: text"
// for a string; "" for a zero, false or empty value.
func fact(key string, v any) string {
	name := strings.ReplaceAll(key, "_", " ")
	if n, ok := count(v); ok {
		if n == 0 {
			return ""
		}
		return name + " " + strconv.FormatInt(n, 10)
	}
	switch x := v.(type) {
	case float64:
		if x == 0 {
			return ""
		}
		return name + " " + strconv.FormatFloat(x, 'g', 4, 64)
	case bool:
		if x {
			return name
		}
		return ""
	case string:
		if x == "" {
			return ""
		}
		return name + ": " + x
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return name + ": " + string(b)
}
