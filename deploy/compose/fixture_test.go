//go:build docker

package compose

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fastSpec makes the scenarios' escalation fire every 5 s (on the clock: replicas fire together).
var fastSpec = map[string]string{"ESCALATION_SCHEDULE": "@every 5s"}

// loadAlerts gives tenant ci (created the first time) a two-step policy, step 0 paging responder
// R0 and step 1 responder R1, and n new triggered alerts due at once. One statement each, so 20,000
// alerts take a second.
func (s *stack) loadAlerts(n int) {
	s.t.Helper()
	s.sql(fmt.Sprintf(`
do $$
declare
    r0  bigint;
    r1  bigint;
    pol bigint;
begin
    if exists (select 1 from tenants where id = 'ci') then
        return;
    end if;
    insert into tenants (id, name, time_zone) values ('ci', 'CI', 'UTC');
    insert into responders (tenant_id, name) values ('ci', 'R0') returning id into r0;
    insert into responders (tenant_id, name) values ('ci', 'R1') returning id into r1;
    insert into escalation_policies (tenant_id, name, repeat_count) values ('ci', 'ci', 0) returning id into pol;
    insert into escalation_steps (policy_id, position, delay_minutes) values (pol, 0, 1), (pol, 1, 1);
    insert into escalation_step_targets (policy_id, position, responder_id) values (pol, 0, r0), (pol, 1, r1);
end
$$;
insert into alerts (tenant_id, source, summary, escalation_policy_id, next_escalation_at)
select 'ci', 'ci', 'alert ' || g, p.id, now()
from escalation_policies p, generate_series(1, %d) g
where p.tenant_id = 'ci';`, n))
}

// count runs a query that returns one number.
func (s *stack) count(query string) int {
	s.t.Helper()
	out := s.sql(query)
	n, err := strconv.Atoi(out)
	if err != nil {
		s.t.Fatalf("%s: %q is not a number", query, out)
	}
	return n
}

// runMidway waits until an escalation run is in progress with part of tenant ci's n due alerts
// paged, and returns its job_runs id and instance. The watch runs inside the database (a loop
// that sees each commit) rather than one docker exec per poll, which would take longer than a
// batch.
func (s *stack) runMidway(n int, timeout time.Duration) (runID, instance string) {
	s.t.Helper()
	out := s.sql(fmt.Sprintf(`
do $$
declare
    run record;
    paged bigint;
begin
    for i in 1..%d loop
        select id, instance into run from job_runs where job = 'escalation' and status = 'running' order by id desc limit 1;
        select count(*) into paged from notifications where tenant_id = 'ci' and escalation_step = 0;
        if run.id is not null and paged > 0 and paged < %d then
            raise notice 'midway run=%% instance=%% paged=%%', run.id, run.instance, paged;
            return;
        end if;
        perform pg_sleep(0.02);
    end loop;
    raise exception 'no escalation run seen midway';
end
$$;`, int(timeout/(25*time.Millisecond)), n))
	m := regexp.MustCompile(`midway run=(\d+) instance=(\S+) paged=(\d+)`).FindStringSubmatch(out)
	if m == nil {
		s.t.Fatalf("no run seen midway: %s", out)
	}
	s.t.Logf("escalation run %s on %s midway: %s of %d alerts paged", m[1], m[2], m[3], n)
	return m[1], m[2]
}

// container returns the id of the service's container whose host name is that of a job_runs
// instance (host/pid).
func (s *stack) container(service, instance string) string {
	s.t.Helper()
	host, _, _ := strings.Cut(instance, "/")
	for _, id := range s.ids(service) {
		if s.inspect(id, "{{.Config.Hostname}}") == host {
			return id
		}
	}
	s.t.Fatalf("no %s container has host name %s", service, host)
	return ""
}

// assertEscalatedOnce checks tenant ci's n alerts once their step is paged: every alert paged at
// step exactly once — one notification and one escalated event each — and no firing run twice.
func (s *stack) assertEscalatedOnce(n, step int) {
	s.t.Helper()
	checks := []struct {
		what, query string
		want        int
	}{
		{"alerts at or past the step", fmt.Sprintf("select count(*) from alerts where tenant_id = 'ci' and escalation_step >= %d", step), n},
		{"notifications of the step", fmt.Sprintf("select count(*) from notifications where tenant_id = 'ci' and escalation_step = %d", step), n},
		{"alerts paged at the step", fmt.Sprintf("select count(distinct alert_id) from notifications where tenant_id = 'ci' and escalation_step = %d", step), n},
		{"escalated events of the step", fmt.Sprintf("select count(*) from alert_events where tenant_id = 'ci' and event = 'escalated' and escalation_step = %d", step), n},
		{"alerts with an escalated event of the step", fmt.Sprintf("select count(distinct alert_id) from alert_events where tenant_id = 'ci' and event = 'escalated' and escalation_step = %d", step), n},
		{"firings run more than once", "select count(*) from (select scheduled_at from job_runs where job = 'escalation' and status <> 'skipped' and scheduled_at is not null group by scheduled_at having count(*) > 1) d", 0},
	}
	for _, c := range checks {
		if got := s.count(c.query); got != c.want {
			s.t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
}

// waitPaged waits until all n of tenant ci's alerts have been paged at step.
func (s *stack) waitPaged(t *testing.T, n, step int, timeout time.Duration) {
	t.Helper()
	q := fmt.Sprintf("select count(*) from alerts where tenant_id = 'ci' and escalation_step >= %d", step)
	eventually(t, timeout, fmt.Sprintf("all %d alerts paged at step %d", n, step), func() (bool, string) {
		got := s.count(q)
		return got == n, fmt.Sprintf("%d paged", got)
	})
}

// runs summarises tenant-independent escalation history, for the log: status and instance of
// each run.
func (s *stack) runs() string {
	s.t.Helper()
	return s.sql("select id || ' ' || coalesce(to_char(scheduled_at, 'HH24:MI:SS'), '-') || ' ' || status || ' ' || instance || coalesce(' ' || error, '') from job_runs where job = 'escalation' order by id")
}
