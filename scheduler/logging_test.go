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
			var levels []slog.Level
			for {
				r := <-f.tap.records
				if r.Message == "run started" && r.Level != slog.LevelDebug {
					t.Errorf("run started logged at %v, want debug", r.Level)
				}
				if r.Message == "run finished" || r.Message == "run failed" {
					levels = append(levels, r.Level)
					break
				}
			}
			if levels[0] != tc.level {
				t.Fatalf("outcome logged at %v, want %v", levels[0], tc.level)
			}
		})
	}
}

// idlerJob is idle when it wrote nothing, whatever it looked at.
type idlerJob struct{ funcJob }

func (idlerJob) Idle(s Summary) bool { return s["written"] == 0 }

// robfig/cron's own lines name the job, not the entry id.
func TestCronLinesNameTheJob(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	if err := s.Add(everySecond(t), funcJob{"named", func(context.Context, time.Time) (Summary, error) { return nil, nil }}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer shutdown(s, 5*time.Second)
	for {
		r := f.tap.waitFor(t, "cron: ")
		if r.Message != "cron: run" && r.Message != "cron: schedule" {
			continue
		}
		if attr(r, "entry").Kind() != slog.KindAny || attr(r, "entry").Any() != nil {
			t.Fatalf("%s names the entry: %v", r.Message, attr(r, "entry"))
		}
		if attr(r, "job").String() != "named" {
			t.Fatalf("%s does not name the job: job=%v", r.Message, attr(r, "job"))
		}
		return
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
