package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// An idle run (nothing done, no error) logs at debug only, so an idle replica is quiet at info;
// a run that did work logs one info line with its summary; a failure logs at error. A job may
// say what idle means for it (Idler).
func TestRunOutcomeLogLevels(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	at := time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		job   Job
		level slog.Level
	}{
		{"idle", funcJob{"idle", func(context.Context, time.Time) (Summary, error) {
			return Summary{"pages": 0, "alerts": int64(0), "stopped": false}, nil
		}}, slog.LevelDebug},
		{"worked", funcJob{"worked", func(context.Context, time.Time) (Summary, error) {
			return Summary{"pages": 2}, nil
		}}, slog.LevelInfo},
		{"failed", funcJob{"failed", func(context.Context, time.Time) (Summary, error) {
			return Summary{}, errors.New("boom")
		}}, slog.LevelError},
		{"idler", idlerJob{funcJob{"idler", func(context.Context, time.Time) (Summary, error) {
			return Summary{"tenants": 5, "written": 0}, nil
		}}}, slog.LevelDebug},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _ = s.RunNow(context.Background(), tc.job, at)
			if r := f.tap.waitFor(t, "run started"); r.Level != slog.LevelDebug {
				t.Errorf("run started logged at %v, want debug", r.Level)
			}
			if r := f.tap.waitFor(t, "run finished", "run failed"); r.Level != tc.level {
				t.Fatalf("outcome logged at %v, want %v", r.Level, tc.level)
			}
		})
	}
}

// idlerJob is idle when it wrote nothing, whatever it looked at.
type idlerJob struct{ funcJob }

func (idlerJob) Idle(s Summary) bool { return s["written"] == 0 }

// The engine's line for each firing (at debug) names the job, its scheduled time and the next.
func TestFiringLinesNameTheJob(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	if err := s.Add(everySecond(t), funcJob{"named", func(context.Context, time.Time) (Summary, error) { return nil, nil }}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer shutdown(s, 5*time.Second)
	first := f.clock.Now().Add(time.Second)
	f.clock.Advance(time.Second)
	r := f.tap.waitFor(t, "cron: run")
	if r.Level != slog.LevelDebug || attr(r, "job").String() != "named" || !attr(r, "scheduled_at").Time().Equal(first) ||
		!attr(r, "next").Time().Equal(first.Add(time.Second)) {
		t.Fatalf("firing line: %v", r)
	}
}

// Every series of a job exists from the moment it is added, before its first run: an alert on
// the age of the last success can fire when a job never succeeds at all.
func TestEveryJobSeriesExistsFromTheStart(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	if err := s.Add(everySecond(t), funcJob{"fresh", func(context.Context, time.Time) (Summary, error) { return nil, nil }}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"opsworker_job_runs_total", "opsworker_job_run_duration_seconds", "opsworker_job_last_success_timestamp_seconds",
		"opsworker_job_skipped_total", "opsworker_job_running",
	} {
		if n, err := testutil.GatherAndCount(f.reg, name); err != nil || n == 0 {
			t.Errorf("%s: %d series before the first run (%v)", name, n, err)
		}
	}
}
