//go:build docker

package compose

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// largeEscalation is how many alerts fall due at once in the fault scenarios: a run of 40
// batches, long enough to be interrupted midway.
const largeEscalation = 20_000

// TestKillDuringEscalation kills (SIGKILL) the replica running a large escalation midway: what it
// committed stays, what it had claimed is released with its connection, and the next firing
// pages the rest. Nothing is lost, nothing is paged twice, and the killed run ends up failed.
func TestKillDuringEscalation(t *testing.T) {
	ensureImage(t) // before the clock: a scenario is timed without the build
	t.Parallel()
	defer timed(t)()
	s := newStack(t, fastSpec)
	s.compose(5*time.Minute, "up", "--detach", "--scale", "opsworker=2")
	s.waitHealthy(time.Minute, s.ids("opsworker")...)

	s.loadAlerts(largeEscalation)
	runID, instance := s.runMidway(largeEscalation, time.Minute)
	victim := s.container("opsworker", instance)
	killed := time.Now()
	s.docker(time.Minute, "kill", "--signal", "KILL", victim)
	// Running, or already marked failed by the other replica's next firing; not finished.
	if st := s.sql("select status from job_runs where id = " + runID); st == "succeeded" {
		t.Fatalf("run %s had succeeded when killed: the kill came too late to interrupt it", runID)
	}
	s.waitPaged(t, largeEscalation, 0, 2*time.Minute)
	t.Logf("all %d alerts paged %s after the kill", largeEscalation, time.Since(killed).Round(100*time.Millisecond))
	s.assertEscalatedOnce(largeEscalation, 0)
	eventually(t, time.Minute, "the killed run marked failed", func() (bool, string) {
		st := s.sql("select status || ' ' || coalesce(error, '') from job_runs where id = " + runID)
		return strings.HasPrefix(st, "failed"), st
	})
	t.Logf("killed container: %s; runs:\n%s", s.inspect(victim, "{{.State.Status}} restarts={{.RestartCount}}"), s.runs())
}

// TestRestartPostgres restarts the database in the middle of a large escalation: the run fails,
// the service stays (or comes back) healthy, and the next run succeeds and pages the rest.
func TestRestartPostgres(t *testing.T) {
	ensureImage(t) // before the clock: a scenario is timed without the build
	t.Parallel()
	defer timed(t)()
	s := newStack(t, fastSpec)
	s.compose(5*time.Minute, "up", "--detach")
	workers := s.ids("opsworker")
	s.waitHealthy(time.Minute, workers...)

	s.loadAlerts(largeEscalation)
	runID, _ := s.runMidway(largeEscalation, time.Minute)
	start := time.Now()
	s.compose(2*time.Minute, "restart", "postgres")
	restarted := time.Now()
	t.Logf("compose restart postgres took %s", restarted.Sub(start).Round(100*time.Millisecond))
	s.waitHealthy(time.Minute, s.ids("postgres")...)

	s.waitPaged(t, largeEscalation, 0, 2*time.Minute)
	s.assertEscalatedOnce(largeEscalation, 0)
	eventually(t, time.Minute, "a run after the restart succeeds", func() (bool, string) {
		n := s.count(fmt.Sprintf("select count(*) from job_runs where job = 'escalation' and status = 'succeeded' and id > %s", runID))
		return n > 0, s.runs()
	})
	eventually(t, time.Minute, "the interrupted run recorded failed", func() (bool, string) {
		st := s.sql("select status || ' ' || coalesce(error, '') from job_runs where id = " + runID)
		return strings.HasPrefix(st, "failed"), st
	})
	s.waitHealthy(time.Minute, workers...)
	t.Logf("opsworker after the restart: %s; recovered %s after it; runs:\n%s",
		s.inspect(workers[0], "{{.State.Status}} restarts={{.RestartCount}}"), time.Since(restarted).Round(100*time.Millisecond), s.runs())
}

// networkCut is how long TestNetworkCut keeps a replica off the network.
const networkCut = 20 * time.Second

// TestNetworkCut disconnects one of two replicas from the stack's network for 20 s: the other
// keeps running the firings; once reconnected, the cut replica answers /readyz again (its pool
// reaches the database) and wins firings again; no firing runs twice.
func TestNetworkCut(t *testing.T) {
	ensureImage(t) // before the clock: a scenario is timed without the build
	t.Parallel()
	defer timed(t)()
	// Debug lines show what the cut replica does with each firing (replica skips, lock waits).
	s := newStack(t, map[string]string{"ESCALATION_SCHEDULE": fastSpec["ESCALATION_SCHEDULE"], "LOG_LEVEL": "debug"})
	s.compose(5*time.Minute, "up", "--detach", "--scale", "opsworker=2")
	ids := s.ids("opsworker")
	s.waitHealthy(time.Minute, ids...)
	victim, other := ids[0], ids[1]
	victimHost, otherHost := s.inspect(victim, "{{.Config.Hostname}}"), s.inspect(other, "{{.Config.Hostname}}")
	network := s.inspect(victim, "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}")
	// Both replicas are in business before the cut.
	eventually(t, time.Minute, "the victim runs a firing before the cut", func() (bool, string) {
		n := s.count("select count(*) from job_runs where job = 'escalation' and status = 'succeeded' and instance like '" + victimHost + "/%'")
		return n > 0, s.runs()
	})

	cut := s.count("select coalesce(max(id), 0) from job_runs")
	s.docker(time.Minute, "network", "disconnect", network, victim)
	cutAt := time.Now()
	<-time.After(networkCut)
	during := s.count(fmt.Sprintf("select count(*) from job_runs where job = 'escalation' and status = 'succeeded' and id > %d and instance like '%s/%%'", cut, otherHost))
	s.docker(time.Minute, "network", "connect", network, victim)
	back := time.Now()
	t.Logf("victim %s off %s for %s; the other replica ran %d firings meanwhile", victimHost, network, back.Sub(cutAt).Round(100*time.Millisecond), during)
	if during < 2 {
		t.Errorf("the other replica ran %d firings during the %s cut, want at least 2", during, networkCut)
	}

	eventually(t, time.Minute, "the victim's /readyz answers 200", func() (bool, string) {
		status := s.httpStatus(strings.TrimPrefix(s.inspect(victim, "{{.Name}}"), "/"), "/readyz")
		return strings.Contains(status, " 200 "), status
	})
	t.Logf("victim ready %s after reconnecting", time.Since(back).Round(100*time.Millisecond))
	reconnected := s.count("select coalesce(max(id), 0) from job_runs")
	eventually(t, 2*time.Minute, "the victim wins a firing again", func() (bool, string) {
		n := s.count(fmt.Sprintf("select count(*) from job_runs where job = 'escalation' and status = 'succeeded' and id > %d and instance like '%s/%%'", reconnected, victimHost))
		return n > 0, s.runs()
	})
	t.Logf("victim ran a firing %s after reconnecting; state %s; runs:\n%s", time.Since(back).Round(100*time.Millisecond),
		s.inspect(victim, "{{.State.Status}}/{{.State.Health.Status}} restarts={{.RestartCount}}"), s.runs())
	var lines []string
	for _, line := range strings.Split(s.docker(time.Minute, "logs", "--since", cutAt.Format(time.RFC3339Nano), victim), "\n") {
		if !strings.Contains(line, "cron: ") { // robfig's per-wake chatter
			lines = append(lines, line)
		}
	}
	t.Logf("the victim's log since the cut (robfig's lines left out):\n%s", lastLines(strings.Join(lines, "\n"), 40))
	if n := s.count("select count(*) from (select scheduled_at from job_runs where job = 'escalation' and status <> 'skipped' group by scheduled_at having count(*) > 1) d"); n != 0 {
		t.Errorf("%d firings ran more than once", n)
	}
}

// httpStatus asks a replica's HTTP endpoint (by container name) from inside the stack's network,
// through bash in the postgres container (the opsworker image has no shell), and returns the
// status line.
func (s *stack) httpStatus(host, path string) string {
	out, err := s.try(time.Minute, "exec", "-T", "postgres", "bash", "-c",
		fmt.Sprintf(`exec 3<>/dev/tcp/%s/8080 && printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' >&3 && timeout 5 head -n 1 <&3`, host, path, host))
	if err != nil {
		return fmt.Sprintf("%v: %s", err, strings.TrimSpace(out))
	}
	return strings.TrimSpace(out)
}
