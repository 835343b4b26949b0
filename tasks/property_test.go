// Package tasks_test checks the escalation and report tasks together against random sequences of
// what the platform's other services do to the data between runs (DESIGN.md, issue 14).
package tasks_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"pgregory.net/rapid"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/escalation"
	"github.com/opsworker/opsworker/tasks/report"
)

// propertySequences is how many random sequences TestEditsAndRuns checks (-short: a fifth). They
// are split between propertyWorkers, each on its own database: the work is round trips to
// PostgreSQL, which two cores overlap. -rapid.checks=N overrides it: N sequences per worker.
const (
	propertySequences = 1000
	propertyWorkers   = 2
)

// t0 is a Monday, 10:00 UTC: where every sequence's clock starts.
var t0 = time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)

// Each sequence starts from this data, written in one round trip (after the previous sequence's
// rows are deleted: cheaper than TRUNCATE's new files for a handful of rows; the deletes of
// policies and schedules cascade to their steps, targets, layers and overrides) (explicit ids, so the actions
// can name rows without reading them back): tenant p (UTC, created the day before t0) with
// responders 1-4; schedule 1, a daily rotation of 1 and 2 with an override by 3 that ended before
// t0; schedule 2, nobody on call until t0 + 3h, then 4; tenant q with responder 5 and policy 3.
// Policies 1 and 2 of p are drawn per sequence (setupPolicies), and its alerts.
const setupSQL = `
delete from notifications; delete from alert_events; delete from alerts; delete from reports;
delete from escalation_policies; delete from oncall_schedules; delete from responders; delete from tenants;
insert into tenants (id, name, time_zone, created_at) values
    ('p', 'p', 'UTC', '2027-05-02T10:00:00Z'), ('q', 'q', 'UTC', null);
insert into responders (id, tenant_id, name) overriding system value values
    (1, 'p', 'r1'), (2, 'p', 'r2'), (3, 'p', 'r3'), (4, 'p', 'r4'), (5, 'q', 'rq');
insert into oncall_schedules (id, tenant_id, name) overriding system value values (1, 'p', 'day'), (2, 'p', 'later');
insert into oncall_layers (schedule_id, priority, rotation_start, shift_length, shift_unit, participants) values
    (1, 1, '2027-05-02T00:00:00Z', 1, 'day', '{1,2}'),
    (2, 1, '2027-05-03T13:00:00Z', 1, 'week', '{4}');
insert into oncall_overrides (schedule_id, responder_id, starts_at, ends_at) values
    (1, 3, '2027-05-02T06:00:00Z', '2027-05-02T07:00:00Z');
insert into escalation_policies (id, tenant_id, name, repeat_count, ack_timeout_minutes) overriding system value values
    (3, 'q', 'foreign', 0, 30);
insert into escalation_steps (policy_id, position, delay_minutes) values (3, 0, 5);
insert into escalation_step_targets (policy_id, position, responder_id) values (3, 0, 5);
`

// A step target: a responder (1-4) or a schedule (s1, s2).
var targetNames = []string{"r1", "r2", "r3", "r4", "s1", "s2"}

// targetSQL adds target to a step, unless the responder was deleted.
func targetSQL(policy, position int, target string) string {
	col, table := "responder_id", "responders"
	if target[0] == 's' {
		col, table = "schedule_id", "oncall_schedules"
	}
	return fmt.Sprintf(`insert into escalation_step_targets (policy_id, position, %s) select %d, %d, id from %s where id = %s`,
		col, policy, position, table, target[1:])
}

// The clock advances by one of these before each run.
var advances = []time.Duration{time.Microsecond, time.Second, time.Minute, 5 * time.Minute, 17 * time.Minute, 2 * time.Hour, 9 * time.Hour}

var zones = []string{"UTC", "Asia/Tokyo", "America/Los_Angeles", "Europe/Berlin", "Pacific/Kiritimati", "Pacific/Honolulu"}

// TestEditsAndRuns: random sequences of platform edits (acknowledge, resolve, reopen, escalate
// now, switch policy, edit steps, delete responders, change the tenant's zone) and escalation and
// report runs at advancing times keep these invariants:
//   - never two pages for one responder in one step of one pass, nor two step events (escalated
//     or nobody_paged) for one step of one pass;
//   - every page is named by an escalated event of its step, and every responder an escalated
//     event names has its page;
//   - no alert is left due in the past: after a run at now nothing is due at now, and once the
//     edits stop, the alerts due again at once (steps that paged nobody) run out within a bounded
//     number of runs;
//   - no report instant is counted twice: a tenant's report periods never overlap, and reports of
//     consecutive dates meet.
func TestEditsAndRuns(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil && !flagSet("rapid.checks") {
		checks := propertySequences / propertyWorkers
		if err := f.Value.Set(fmt.Sprint(checks)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Value.Set(f.DefValue) })
	}
	start := time.Now()
	for w := range propertyWorkers {
		t.Run(fmt.Sprintf("worker %d", w), func(t *testing.T) {
			t.Parallel()
			pool := dbtest.NewUnsynced(t)
			rapid.Check(t, func(rt *rapid.T) { newSequence(rt, pool).run(rt) })
		})
	}
	t.Cleanup(func() { t.Logf("%d workers: %s", propertyWorkers, time.Since(start).Round(time.Millisecond)) })
}

// flagSet reports whether name was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// sequence is one random sequence's world.
type sequence struct {
	ctx        context.Context
	pool       *pgxpool.Pool
	escalation *escalation.Task
	reports    *report.Task
	now        time.Time
	alerts     []int64
}

func newSequence(t *rapid.T, pool *pgxpool.Pool) *sequence {
	s := &sequence{
		ctx:        scheduler.WithLogger(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))),
		pool:       pool,
		escalation: escalation.New(pool, escalation.Options{BatchSize: rapid.IntRange(1, 3).Draw(t, "batch size")}),
		reports:    report.New(pool, report.Options{CatchupDays: 2}),
		now:        t0,
	}
	var b strings.Builder
	b.WriteString(setupSQL)
	for p := 1; p <= 2; p++ {
		timeout := "null"
		if rapid.Bool().Draw(t, fmt.Sprintf("policy %d has an ack timeout", p)) {
			timeout = "30"
		}
		fmt.Fprintf(&b, "insert into escalation_policies (id, tenant_id, name, repeat_count, ack_timeout_minutes) overriding system value values (%d, 'p', 'p%d', %d, %s);\n",
			p, p, rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("policy %d repeats", p)), timeout)
		steps := rapid.IntRange(1, 3).Draw(t, fmt.Sprintf("policy %d steps", p))
		for pos := range steps {
			b.WriteString(s.stepSQL(t, p, pos) + ";\n")
		}
	}
	n := rapid.IntRange(1, 3).Draw(t, "alerts")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "insert into alerts (id, tenant_id, source, summary, escalation_policy_id, created_at, next_escalation_at) overriding system value values (%d, 'p', 'src', 'alert', %d, '%s', '%s');\n",
			i, rapid.IntRange(1, 2).Draw(t, fmt.Sprintf("alert %d policy", i)), t0.Format(time.RFC3339), t0.Format(time.RFC3339))
		s.alerts = append(s.alerts, int64(i))
	}
	if _, err := pool.Exec(s.ctx, b.String()); err != nil {
		t.Fatalf("setup: %v", err)
	}
	return s
}

// stepSQL adds a step at position pos of policy p with random delay and targets (none at times).
func (s *sequence) stepSQL(t *rapid.T, p, pos int) string {
	stmts := []string{fmt.Sprintf("insert into escalation_steps (policy_id, position, delay_minutes) values (%d, %d, %d)",
		p, pos, rapid.SampledFrom([]int{1, 5, 30}).Draw(t, "delay"))}
	targets := rapid.SliceOfNDistinct(rapid.SampledFrom(targetNames), 0, 2, rapid.ID[string]).Draw(t, "targets")
	for _, tg := range targets {
		stmts = append(stmts, targetSQL(p, pos, tg))
	}
	return strings.Join(stmts, ";\n")
}

func (s *sequence) exec(t *rapid.T, sql string, args ...any) {
	if _, err := s.pool.Exec(s.ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (s *sequence) count(t *rapid.T, sql string, args ...any) int64 {
	var n int64
	if err := s.pool.QueryRow(s.ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// run draws and applies the sequence's actions, then lets the escalation settle, checking the
// invariants as it goes and at the end.
func (s *sequence) run(t *rapid.T) {
	actions := map[string]func(*rapid.T){
		"escalate":   s.escalate,
		"report":     s.report,
		"ack":        s.acknowledge,
		"resolve":    s.resolve,
		"reopen":     s.reopen,
		"now":        s.escalateNow,
		"switch":     s.switchPolicy,
		"edit steps": s.editSteps,
		"delete":     s.deleteResponder,
		"zone":       s.changeZone,
	}
	// escalate is drawn more often: runs are what the invariants are about.
	names := []string{"escalate", "escalate", "escalate", "report", "ack", "resolve", "reopen", "now", "switch", "edit steps", "delete", "zone"}
	n := rapid.IntRange(1, 24).Draw(t, "actions")
	for range n {
		actions[rapid.SampledFrom(names).Draw(t, "action")](t)
	}
	s.settle(t)
	s.checkPages(t)
	s.checkReports(t)
}

func (s *sequence) alert(t *rapid.T) int64 { return rapid.SampledFrom(s.alerts).Draw(t, "alert") }

// escalate advances the clock and runs the escalation task: nothing may be left due at now.
func (s *sequence) escalate(t *rapid.T) {
	s.now = s.now.Add(rapid.SampledFrom(advances).Draw(t, "advance"))
	if _, err := s.escalation.Run(s.ctx, s.now); err != nil {
		t.Fatalf("escalation at %s: %v", s.now.Format(time.RFC3339Nano), err)
	}
	if n := s.count(t, `select count(*) from alerts where status = 'triggered' and next_escalation_at <= $1`, s.now); n != 0 {
		t.Fatalf("after the run at %s, %d alerts are still due", s.now.Format(time.RFC3339Nano), n)
	}
}

func (s *sequence) report(t *rapid.T) {
	s.now = s.now.Add(rapid.SampledFrom(advances).Draw(t, "advance"))
	if _, err := s.reports.Run(s.ctx, s.now); err != nil {
		t.Fatalf("report at %s: %v", s.now.Format(time.RFC3339Nano), err)
	}
	s.checkReports(t)
}

func (s *sequence) acknowledge(t *rapid.T) {
	// Now and then as a careless writer does it: without acknowledged_at.
	at := &s.now
	if rapid.IntRange(0, 9).Draw(t, "without acknowledged_at") == 0 {
		at = nil
	}
	s.exec(t, `update alerts set status = 'acknowledged', acknowledged_at = $2, acknowledged_by = 'someone'
	           where id = $1 and status = 'triggered'`, s.alert(t), at)
}

func (s *sequence) resolve(t *rapid.T) {
	s.exec(t, `update alerts set status = 'resolved', resolved_at = $2 where id = $1 and status <> 'resolved'`, s.alert(t), s.now)
}

// reopen restarts an acknowledged or resolved alert, as README's contract says.
func (s *sequence) reopen(t *rapid.T) {
	s.exec(t, `update alerts set status = 'triggered', acknowledged_at = null, acknowledged_by = null, resolved_at = null,
	                             escalation_step = null, next_escalation_at = $2
	           where id = $1 and status <> 'triggered'`, s.alert(t), s.now)
}

func (s *sequence) escalateNow(t *rapid.T) {
	s.exec(t, `update alerts set next_escalation_at = $2 where id = $1 and status = 'triggered'`, s.alert(t), s.now)
}

// switchPolicy moves an alert to another policy (3 is another tenant's), at once or not.
func (s *sequence) switchPolicy(t *rapid.T) {
	a, p := s.alert(t), rapid.IntRange(1, 3).Draw(t, "policy")
	if rapid.Bool().Draw(t, "escalate at once") {
		s.exec(t, `update alerts set escalation_policy_id = $2, next_escalation_at = $3 where id = $1`, a, p, s.now)
	} else {
		s.exec(t, `update alerts set escalation_policy_id = $2 where id = $1`, a, p)
	}
}

// editSteps changes one of p's policies: a delay, a step removed (leaving a gap) or added at the
// end, a target removed or added.
func (s *sequence) editSteps(t *rapid.T) {
	p := rapid.IntRange(1, 2).Draw(t, "policy")
	pos := rapid.IntRange(0, 3).Draw(t, "position")
	switch rapid.IntRange(0, 4).Draw(t, "edit") {
	case 0:
		s.exec(t, `update escalation_steps set delay_minutes = $3 where policy_id = $1 and position = $2`,
			p, pos, rapid.SampledFrom([]int{1, 5, 30}).Draw(t, "delay"))
	case 1:
		s.exec(t, `delete from escalation_steps where policy_id = $1 and position = $2`, p, pos)
	case 2:
		end := s.count(t, `select coalesce(max(position) + 1, 0) from escalation_steps where policy_id = $1`, p)
		s.exec(t, s.stepSQL(t, p, int(end)))
	case 3:
		s.exec(t, `delete from escalation_step_targets
		           where id = (select min(id) from escalation_step_targets where policy_id = $1 and position = $2)`, p, pos)
	case 4:
		if s.count(t, `select count(*) from escalation_steps where policy_id = $1 and position = $2`, p, pos) == 1 {
			s.exec(t, targetSQL(p, pos, rapid.SampledFrom(targetNames).Draw(t, "target")))
		}
	}
}

// deleteResponder deletes one of p's responders: step targets and overrides go with it; a
// schedule's participants keep the id.
func (s *sequence) deleteResponder(t *rapid.T) {
	s.exec(t, `delete from responders where id = $1`, rapid.IntRange(1, 4).Draw(t, "responder"))
}

func (s *sequence) changeZone(t *rapid.T) {
	s.exec(t, `update tenants set time_zone = $1 where id = 'p'`, rapid.SampledFrom(zones).Draw(t, "zone"))
}

// settle stops editing and runs the escalation a second apart until no alert is due again within
// the second: an alert whose steps page nobody moves one step per run and runs out of steps and
// loops, so this ends; one due again at once forever would not.
func (s *sequence) settle(t *rapid.T) {
	const bound = 40 // > 3 steps x 3 loops, plus a restart's pass
	for i := 0; ; i++ {
		next := s.now.Add(time.Second)
		if s.count(t, `select count(*) from alerts where status = 'triggered' and next_escalation_at <= $1`, next) == 0 {
			return
		}
		if i == bound {
			t.Fatalf("alerts still due again at once after %d runs a second apart", bound)
		}
		s.now = next
		if _, err := s.escalation.Run(s.ctx, s.now); err != nil {
			t.Fatalf("escalation at %s: %v", s.now.Format(time.RFC3339Nano), err)
		}
	}
}

// checkPagesSQL counts violations of the page invariants: pages no escalated event names, named
// responders without a page, responders named twice for one step of one pass, and steps of one
// pass with more than one step event.
const checkPagesSQL = `
with named as (
    select e.alert_id, e.escalation_pass, e.escalation_loop, e.escalation_step, r.value::bigint as responder_id
    from alert_events e, jsonb_array_elements_text(e.details->'responder_ids') r
    where e.event = 'escalated'
)
select
    (select count(*) from notifications n
     where not exists (select 1 from named m
                       where (m.alert_id, m.escalation_pass, m.escalation_loop, m.escalation_step, m.responder_id)
                           = (n.alert_id, n.escalation_pass, n.escalation_loop, n.escalation_step, n.responder_id))),
    (select count(*) from named m
     where not exists (select 1 from notifications n
                       where (m.alert_id, m.escalation_pass, m.escalation_loop, m.escalation_step, m.responder_id)
                           = (n.alert_id, n.escalation_pass, n.escalation_loop, n.escalation_step, n.responder_id))),
    (select count(*) from (select from named group by alert_id, escalation_pass, escalation_loop, escalation_step, responder_id
                           having count(*) > 1) d),
    (select count(*) from (select from alert_events where event in ('escalated', 'nobody_paged')
                           group by alert_id, escalation_pass, escalation_loop, escalation_step having count(*) > 1) d)`

func (s *sequence) checkPages(t *rapid.T) {
	var unnamed, missing, twice, steps int64
	if err := s.pool.QueryRow(s.ctx, checkPagesSQL).Scan(&unnamed, &missing, &twice, &steps); err != nil {
		t.Fatal(err)
	}
	if unnamed+missing+twice+steps > 0 {
		t.Fatalf("%d pages named by no event, %d named responders without a page, %d responders named twice for a step, "+
			"%d steps with two step events", unnamed, missing, twice, steps)
	}
}

// checkReportsSQL counts pairs of a tenant's reports that overlap, and pairs of consecutive
// dates whose periods do not meet.
const checkReportsSQL = `
select
    (select count(*) from reports a join reports b
       on a.tenant_id = b.tenant_id and a.id < b.id
      and a.period_start < b.period_end and b.period_start < a.period_end),
    (select count(*) from reports a join reports b
       on a.tenant_id = b.tenant_id and b.period_date = a.period_date + 1 and b.period_start <> a.period_end)`

func (s *sequence) checkReports(t *rapid.T) {
	var overlaps, apart int64
	if err := s.pool.QueryRow(s.ctx, checkReportsSQL).Scan(&overlaps, &apart); err != nil {
		t.Fatal(err)
	}
	if overlaps+apart > 0 {
		rows, _ := s.pool.Query(s.ctx, `select period_date::text || ' ' || time_zone || ' [' || period_start || ', ' || period_end || ')'
		                                 from reports order by period_start`)
		var list []string
		for rows.Next() {
			var l string
			_ = rows.Scan(&l)
			list = append(list, l)
		}
		rows.Close()
		t.Fatalf("%d overlapping reports, %d consecutive dates that do not meet:\n%s", overlaps, apart, strings.Join(list, "\n"))
	}
}
