package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/opsworker/opsworker/dbtest"
)

// Fault tests: real faults (a backend terminated, a TCP proxy that refuses, resets or blackholes)
// against the real PostgreSQL.

// proxied returns a pool on f's database through a TCP proxy the test controls, closed (the
// proxy's connections reset first, so nothing waits on a blackhole) when t ends.
func (f fixture) proxied(t *testing.T) (*dbtest.Proxy, *pgxpool.Pool) {
	proxy := dbtest.NewProxy(t)
	cfg, err := pgxpool.ParseConfig(proxy.URL(f.pool.Config().ConnString()))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = 300 * time.Millisecond
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		proxy.Reset()
		pool.Close()
	})
	return proxy, pool
}

// span is one committed transaction of a run: from its begin to its commit's return.
type span struct {
	run        string
	start, end time.Time
}

type spans struct {
	mu  sync.Mutex
	all []span
}

func (s *spans) add(sp span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, sp)
}

func (s *spans) of(run string) []span {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []span
	for _, sp := range s.all {
		if sp.run == run {
			out = append(out, sp)
		}
	}
	return out
}

// committingJob commits fenced transactions, each doing 20 ms of work, until ctx ends or limit
// transactions are done (0: no limit); every commit is recorded in spans under label.
func committingJob(pool *pgxpool.Pool, sp *spans, label string, limit int, committed chan<- struct{}) Job {
	return funcJob{"fenced", func(ctx context.Context, _ time.Time) (Summary, error) {
		for n := 0; limit == 0 || n < limit; n++ {
			start := time.Now()
			err := BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, "select pg_sleep(0.02)")
				return err
			})
			if err != nil {
				return Summary{"commits": n}, err
			}
			sp.add(span{label, start, time.Now()})
			if committed != nil {
				select {
				case committed <- struct{}{}:
				default:
				}
			}
		}
		return Summary{"commits": limit}, nil
	}}
}

// lockHolder returns the pid of the backend holding job's lock, waiting for one.
func lockHolder(t *testing.T, pool *pgxpool.Pool, job string) int32 {
	t.Helper()
	var pid int32
	err := pool.QueryRow(context.Background(), `
		select pid from pg_locks where locktype = 'advisory' and classid = $1 and objid = hashtext($2)::oid
		   and objsubid = 2 and granted`, lockClass, job).Scan(&pid)
	if err != nil {
		t.Fatalf("the lock holder: %v", err)
	}
	return pid
}

// Fault 1, "two runs at once": terminating the backend that holds a job's lock in the middle of
// a run stops that run within 2 s, recorded failed with "lock lost"; another replica takes the
// lock at once, and no transaction of the two runs overlaps another: the first run commits
// nothing once the loss is detected, and the second commits nothing before the first's last
// transaction has ended.
func TestLockLostStopsTheRun(t *testing.T) {
	f := newFixture(t)
	other, err := pgxpool.New(context.Background(), f.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// The heartbeat is what notices the loss: this test runs on the real clock.
	s1 := f.scheduler(Options{Instance: "replica-1", Clock: clockwork.NewRealClock()})
	s2 := New(other, Options{Instance: "replica-2", Logger: slog.New(newLogTap())})

	var sp spans
	committed := make(chan struct{}, 1)
	type result struct {
		run Run
		err error
		at  time.Time
	}
	first := make(chan result, 1)
	go func() {
		run, err := s1.RunNow(context.Background(), committingJob(f.pool, &sp, "first", 0, committed), time.Now())
		first <- result{run, err, time.Now()}
	}()
	for range 5 {
		<-committed
	}
	pid := lockHolder(t, f.pool, "fenced")
	dbtest.Exec(t, f.pool, "select pg_terminate_backend($1)", pid)
	killed := time.Now()

	// The other replica tries until it gets the lock: at once, since the server freed it.
	var second Run
	for {
		run, err := s2.RunNow(context.Background(), committingJob(other, &sp, "second", 10, nil), time.Now())
		if errors.Is(err, ErrLocked) {
			continue
		}
		if err != nil {
			t.Fatalf("second run: %v", err)
		}
		second = run
		break
	}

	r := <-first
	if r.err == nil || !strings.Contains(r.err.Error(), "lock lost") {
		t.Fatalf("first run ended with %v, want lock lost", r.err)
	}
	if took := r.at.Sub(killed); took > 2*time.Second {
		t.Errorf("first run stopped %v after its lock connection died, want within 2s", took)
	}
	rows := runs(t, f.pool, "fenced")
	if len(rows) != 2 || rows[0].Status != statusFailed || !strings.Contains(*rows[0].Error, "lock lost") ||
		rows[1].ID != second.ID || rows[1].Status != statusSucceeded {
		t.Fatalf("history = %+v", rows)
	}
	a, b := sp.of("first"), sp.of("second")
	if len(b) != 10 {
		t.Fatalf("second run committed %d transactions, want 10", len(b))
	}
	for _, x := range a {
		for _, y := range b {
			if x.start.Before(y.end) && y.start.Before(x.end) {
				t.Fatalf("two runs committing at once: first %v–%v, second %v–%v",
					x.start.Format(time.StampMicro), x.end.Format(time.StampMicro), y.start.Format(time.StampMicro), y.end.Format(time.StampMicro))
			}
		}
	}
	if last := a[len(a)-1]; last.end.After(b[0].start) {
		t.Fatalf("the first run committed at %v, after the second began at %v", last.end, b[0].start)
	}
	t.Logf("first run: %d commits, stopped %v after the kill; second run: 10 commits, first %v after the kill",
		len(a), r.at.Sub(killed).Round(time.Millisecond), b[0].start.Sub(killed).Round(time.Millisecond))
}

// Fault 2, "firings with no history": while the database refuses connections, and while it is
// blackholed, every firing still leaves one history row (failed, "not started: database
// unavailable"), written once the database answers again; the firings before, during and after
// the outage are one row each, with no hole; opsworker_job_missed_total counts them.
//
// A refusal fails at once, so its firings are driven by the test's clock; a blackhole is noticed
// only when a bound passes (StartTimeout, the pool's connect timeout), on the real clock.
func TestEveryFiringLeavesARowThroughOutages(t *testing.T) {
	for _, fault := range []string{"refuse", "blackhole"} {
		t.Run(fault, func(t *testing.T) {
			f := newFixture(t)
			proxy, pool := f.proxied(t)
			var clock clockwork.Clock = clockwork.NewRealClock()
			if fault == "refuse" {
				clock = f.clock
			}
			s := New(pool, Options{Instance: "outage", StartTimeout: 400 * time.Millisecond, Logger: slog.New(f.tap), Metrics: f.metrics, Clock: clock})
			tick := func() { // on the real clock, the next firing comes by itself
				if fault == "refuse" {
					settle(s)
					f.tick(t, 1)
				}
			}
			if err := s.Add(everySecond(t), funcJob{"beat", func(context.Context, time.Time) (Summary, error) { return nil, nil }}); err != nil {
				t.Fatal(err)
			}
			s.Start()
			tick()
			f.tap.waitFor(t, "run finished")
			switch fault {
			case "refuse":
				proxy.Refuse()
			case "blackhole":
				proxy.Blackhole()
			}
			for range 3 {
				tick()
				f.tap.waitFor(t, "run not started")
			}
			proxy.Pass()
			if fault == "blackhole" {
				proxy.Reset() // what the blackhole held would time out; the pool then reconnects
			}
			// Firings go on until the flusher (every 2 s) has written the rows kept in memory,
			// and twice more.
			for written, ok := false, 0; !written || ok < 2; ok++ {
				tick()
				for f.tap.waitFor(t, "history rows written late", "run finished").Message != "run finished" {
					written = true
				}
			}
			shutdown(s, 5*time.Second)

			rows := runs(t, f.pool, "beat")
			slices.SortFunc(rows, func(a, b runRow) int { return a.ScheduledAt.Compare(*b.ScheduledAt) })
			var missed int
			for i, r := range rows {
				if i > 0 && r.ScheduledAt.Sub(*rows[i-1].ScheduledAt) != time.Second {
					t.Fatalf("history has a hole or a duplicate between %v and %v: %+v", rows[i-1].ScheduledAt, r.ScheduledAt, rows)
				}
				switch r.Status {
				case statusFailed:
					if !strings.HasPrefix(*r.Error, "not started: database unavailable") {
						t.Errorf("missed firing's error: %q", *r.Error)
					}
					missed++
				case statusSkipped: // the previous run's bookkeeping still waited on the database
					if !strings.HasPrefix(*r.Error, "skipped: the previous run is still running") {
						t.Errorf("skipped firing's error: %q", *r.Error)
					}
				}
			}
			if missed < 3 || rows[len(rows)-1].Status != statusSucceeded {
				t.Fatalf("want at least 3 missed firings and a success after them: %+v", rows)
			}
			if n := testutil.ToFloat64(f.metrics.missed.WithLabelValues("beat")); int(n) < missed {
				t.Errorf("opsworker_job_missed_total = %v, want at least %d", n, missed)
			}
		})
	}
}

// A run whose outcome cannot be written when it ends is written once the database answers: the
// history shows what happened, not an abandoned run.
func TestOutcomeWrittenOnceTheDatabaseAnswers(t *testing.T) {
	f := newFixture(t)
	proxy, pool := f.proxied(t)
	s := New(pool, Options{Instance: "late-writer", Logger: slog.New(f.tap), Metrics: f.metrics})
	s.hist.outcomeWait = 300 * time.Millisecond
	run, err := s.RunNow(context.Background(), funcJob{"outcome", func(context.Context, time.Time) (Summary, error) {
		proxy.Refuse() // the database goes away as the job ends
		return Summary{"pages": 7}, nil
	}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.tap.waitFor(t, "cannot record the run's outcome")
	if rows := runs(t, f.pool, "outcome"); len(rows) != 1 || rows[0].Status != "running" {
		t.Fatalf("history while the database is away = %+v", rows)
	}
	proxy.Pass()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.flush(ctx)
	rows := runs(t, f.pool, "outcome")
	if len(rows) != 1 || rows[0].ID != run.ID || rows[0].Status != statusSucceeded || rows[0].Summary["pages"] != float64(7) {
		t.Fatalf("history once the database answers = %+v", rows)
	}
}

// A run left "running" is closed by its job's next run, which says whether its process is gone
// (no connection of it is left: abandoned) or alive (it lost the lock or could not record the
// outcome; it writes the truth over this when it can).
func TestUnfinishedRunsOfLiveAndDeadProcesses(t *testing.T) {
	f := newFixture(t)
	dbtest.Exec(t, f.pool, `insert into job_runs (job, started_at, status, instance, trigger) values
		('j', now() - interval '1 minute', 'running', 'host-a/1', 'schedule'),
		('j', now() - interval '2 minutes', 'running', 'host-b/2', 'manual')`)
	cfg, err := pgx.ParseConfig(f.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = ApplicationName("host-a/1")
	alive, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer alive.Close(context.Background())

	s := f.scheduler(Options{Instance: "host-c/3"})
	if _, err := s.RunNow(context.Background(), funcJob{"j", func(context.Context, time.Time) (Summary, error) { return nil, nil }}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs(t, f.pool, "j") {
		switch r.Instance {
		case "host-a/1":
			if r.Status != statusFailed || !strings.HasPrefix(*r.Error, "interrupted: its process (host-a/1) is alive") {
				t.Errorf("live process's run: %s %v", r.Status, *r.Error)
			}
		case "host-b/2":
			if r.Status != statusFailed || *r.Error != "abandoned: its process (host-b/2) is gone" {
				t.Errorf("dead process's run: %s %v", r.Status, *r.Error)
			}
		}
	}
}

// Fault 3, "waits with no bound": with the database blackholed, a firing gives up within
// StartTimeout (and is recorded as not started), a running job stuck on the database is
// cancelled by the heartbeat, and Shutdown returns within its timeout plus its grace, whatever
// the network does.
func TestBlackholeIsBounded(t *testing.T) {
	f := newFixture(t)
	proxy, pool := f.proxied(t)
	s := New(pool, Options{Instance: "bounded", StartTimeout: 500 * time.Millisecond, Logger: slog.New(f.tap), Metrics: f.metrics})
	started := make(chan struct{}, 1)
	if err := s.Add(everySecond(t), funcJob{"stuck", func(ctx context.Context, _ time.Time) (Summary, error) {
		// Hold a live connection before saying so: the blackhole must catch the query in flight,
		// not a connection being made.
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		defer conn.Release()
		if err := conn.Ping(ctx); err != nil {
			return nil, err
		}
		select {
		case started <- struct{}{}:
		default:
		}
		_, err = conn.Exec(ctx, "select pg_sleep(60)")
		return nil, err
	}}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	<-started
	proxy.Blackhole()
	failedRun := f.tap.waitFor(t, "run failed")
	if e := attr(failedRun, "error").String(); !strings.Contains(e, "lock lost") {
		t.Errorf("the stuck run failed with %q, want lock lost", e)
	}
	notStarted := f.tap.waitFor(t, "run not started")
	// Bounded either by StartTimeout or, for a connection being made, by its connect timeout.
	if e := attr(notStarted, "error").String(); !strings.Contains(e, errStartTimeout.Error()) && !strings.Contains(e, "timeout") {
		t.Errorf("the blocked firing: %q", e)
	}
	t0 := time.Now()
	shutdown(s, time.Second)
	if took := time.Since(t0); took > time.Second+shutdownGrace+2*time.Second {
		t.Fatalf("Shutdown took %v with the database blackholed", took)
	}
}

// Latency is not a fault the run should die of: with 150 ms added each way to every exchange, a
// run's lock heartbeat (1 s timeout) holds and its fenced transactions commit; the firing is one
// succeeded row.
func TestLatencyIsNotALostLock(t *testing.T) {
	f := newFixture(t)
	proxy, pool := f.proxied(t)
	// Connect before the latency (the proxied pool's connect timeout is short): a lock
	// connection and a transaction's, kept idle in the pool.
	var conns []*pgxpool.Conn
	for range 3 {
		c, err := pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Release()
	}
	proxy.Latency(150 * time.Millisecond)
	s := New(pool, Options{Instance: "slow", Logger: slog.New(f.tap), Metrics: f.metrics})
	var sp spans
	run, err := s.RunNow(context.Background(), committingJob(pool, &sp, "slow", 2, nil), time.Now())
	if err != nil {
		t.Fatalf("run under latency: %v", err)
	}
	if rows := runs(t, f.pool, "fenced"); len(rows) != 1 || rows[0].ID != run.ID || rows[0].Status != statusSucceeded {
		t.Fatalf("history = %+v", rows)
	}
	if got := sp.of("slow"); len(got) != 2 || got[0].end.Sub(got[0].start) < 300*time.Millisecond {
		t.Fatalf("commits %+v: want 2, each slowed by the latency", got)
	}
}
