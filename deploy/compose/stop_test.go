//go:build docker

package compose

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStop stops the whole stack while a large escalation runs: opsworker drains (the run
// finishes, or is recorded interrupted), and every container — the replicas, the database, the
// demo loader — has exited 0 within its stop_grace_period.
func TestStop(t *testing.T) {
	ensureImage(t) // before the clock: a scenario is timed without the build
	t.Parallel()
	defer timed(t)()
	s := newStack(t, fastSpec)
	s.compose(5*time.Minute, "--profile", "demo", "up", "--detach", "--scale", "opsworker=2")
	s.waitHealthy(time.Minute, s.ids("opsworker")...)

	// The grace the engine enforces: compose turns stop_grace_period into each container's
	// StopTimeout; without one Docker waits 10 s.
	grace := func(id string) time.Duration {
		if st := s.inspect(id, "{{if .Config.StopTimeout}}{{.Config.StopTimeout}}{{end}}"); st != "" {
			n, err := strconv.Atoi(st)
			if err != nil {
				t.Fatalf("StopTimeout %q: %v", st, err)
			}
			return time.Duration(n) * time.Second
		}
		return 10 * time.Second
	}
	if g := grace(s.ids("opsworker")[0]); g != 45*time.Second {
		t.Errorf("opsworker's stop grace period %s, want compose.yaml's 45s", g)
	}

	s.loadAlerts(largeEscalation)
	runID, _ := s.runMidway(largeEscalation, time.Minute)
	stop := time.Now()
	s.compose(3*time.Minute, "--profile", "demo", "stop")
	t.Logf("compose stop took %s", time.Since(stop).Round(100*time.Millisecond))

	// compose stops a service after the services that depend on it: postgres's grace starts
	// when the last opsworker has exited, not at the command.
	graceStart := stop
	for _, service := range []string{"demo", "opsworker", "postgres"} {
		ids := s.ids(service)
		if len(ids) == 0 {
			t.Errorf("no %s container", service)
		}
		var last time.Time
		for _, id := range ids {
			st := s.inspect(id, "{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{.State.FinishedAt}}")
			f := strings.Fields(st)
			if len(f) != 4 || f[1] != "exited" || f[2] != "0" {
				t.Errorf("%s: want exited 0", st)
				continue
			}
			if service == "demo" {
				continue // it had exited long before
			}
			finished, err := time.Parse(time.RFC3339Nano, f[3])
			if err != nil {
				t.Fatal(err)
			}
			took := finished.Sub(graceStart)
			t.Logf("%s exited 0 %s after its stop began (grace %s)", f[0], took.Round(100*time.Millisecond), grace(id))
			if took > grace(id) {
				t.Errorf("%s took %s to stop, longer than its stop_grace_period %s", f[0], took, grace(id))
			}
			if finished.After(last) {
				last = finished
			}
		}
		if service == "opsworker" && last.After(graceStart) {
			graceStart = last
		}
	}

	s.compose(2*time.Minute, "start", "postgres")
	s.waitHealthy(time.Minute, s.ids("postgres")...)
	if st := s.sql("select status || ' ' || coalesce(error, '') from job_runs where id = " + runID); st == "running" {
		t.Errorf("run %s still running after the drain", runID)
	} else {
		t.Logf("the run in progress at the stop ended %s", st)
	}
	if n := s.count("select count(*) from job_runs where status = 'running'"); n != 0 {
		t.Errorf("%d runs left running after the drain", n)
	}
}
