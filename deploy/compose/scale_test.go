//go:build docker

package compose

import (
	"testing"
	"time"
)

// TestScale runs three replicas: every firing runs once (one job_runs row per scheduled time,
// whichever replica wins it) and every alert is paged once per step.
func TestScale(t *testing.T) {
	ensureImage(t) // before the clock: a scenario is timed without the build
	t.Parallel()
	defer timed(t)()
	s := newStack(t, fastSpec)
	s.compose(5*time.Minute, "up", "--detach", "--scale", "opsworker=3")
	ids := s.ids("opsworker")
	if len(ids) != 3 {
		t.Fatalf("%d opsworker containers, want 3", len(ids))
	}
	s.waitHealthy(time.Minute, ids...)

	const n = 200
	s.loadAlerts(n)
	s.waitPaged(t, n, 0, time.Minute)
	// Step 1 is due a minute later; make it due now, as another service may.
	s.sql("update alerts set next_escalation_at = now() where tenant_id = 'ci'")
	s.waitPaged(t, n, 1, time.Minute)
	// A few more firings, all three replicas contending for each.
	firings := s.count("select count(*) from job_runs where job = 'escalation'")
	eventually(t, time.Minute, "four more firings", func() (bool, string) {
		got := s.count("select count(*) from job_runs where job = 'escalation'")
		return got >= firings+4, s.runs()
	})
	s.assertEscalatedOnce(n, 0)
	s.assertEscalatedOnce(n, 1)
	if got := s.count("select count(*) from notifications where tenant_id = 'ci'"); got != 2*n {
		t.Errorf("%d notifications, want %d: one per alert and step", got, 2*n)
	}
	t.Logf("runs (id, firing, status, instance):\n%s", s.runs())
}
