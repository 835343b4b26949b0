package scheduler

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/opsworker/opsworker/dbtest"
)

// wakeJobs adds a job per name on a spec that never fires during a test; each run of one sends
// its name on the returned channel.
func wakeJobs(t *testing.T, f fixture, s *Scheduler, names ...string) <-chan string {
	t.Helper()
	spec, err := ParseSpec("@yearly", time.UTC, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan string, 100)
	for _, name := range names {
		if err := s.Add(spec, funcJob{name, func(context.Context, time.Time) (Summary, error) {
			ran <- name
			return nil, nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	return ran
}

// listen runs s.Listen with o until the test ends, and fails the test if it returns an error.
func listen(t *testing.T, s *Scheduler, o ListenOptions) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Listen(ctx, o); err != nil {
			t.Errorf("Listen: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func connConfig(t *testing.T, url string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// ranJobs waits for n runs and returns how many each job had.
func ranJobs(t *testing.T, ran <-chan string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		select {
		case name := <-ran:
			got[name]++
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d runs within 30s: %v", len(got), n, got)
		}
	}
	return got
}

func notify(t *testing.T, pool *pgxpool.Pool, channel string) {
	t.Helper()
	dbtest.Exec(t, pool, "select pg_notify($1, 'x')", channel)
}

// One connection listens on every channel; a notification runs its channel's job; a terminated
// backend is reconnected at once and every job catches up once, counted by channel; the
// notifications after it wake jobs up again.
func TestListenReconnectsAndCatchesUp(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	ran := wakeJobs(t, f, s, "alpha", "beta")
	s.Start()
	defer shutdown(s, 5*time.Second)
	listen(t, s, ListenOptions{ConnConfig: connConfig(t, f.pool.Config().ConnString()),
		Jobs: map[string]string{"test_alpha": "alpha", "test_beta": "beta"}, Registerer: f.reg})

	// Up: one catch-up run each, at once (the first wake-up is not delayed).
	f.tap.waitFor(t, "notification listener up")
	f.tap.waitFor(t, "notification listener up")
	if got := ranJobs(t, ran, 2); got["alpha"] != 1 || got["beta"] != 1 {
		t.Fatalf("catch-up runs at start: %v", got)
	}
	if n := dbtest.Int64(t, f.pool, `select count(*) from pg_stat_activity
		where datname = current_database() and query ilike 'listen %' and pid <> pg_backend_pid()`); n != 1 {
		t.Fatalf("%d listening backends, want one for both channels", n)
	}
	f.clock.Advance(coalesceWindow) // later wake-ups run at once too

	notify(t, f.pool, "test_beta")
	if got := ranJobs(t, ran, 1); got["beta"] != 1 {
		t.Fatalf("a notification on test_beta ran %v", got)
	}
	f.clock.Advance(coalesceWindow)

	n := dbtest.Int64(t, f.pool, `select count(pg_terminate_backend(pid)) from pg_stat_activity
		where datname = current_database() and query ilike 'listen %' and pid <> pg_backend_pid()`)
	if n != 1 {
		t.Fatalf("terminated %d listener backends, want 1", n)
	}
	f.tap.waitFor(t, "notification listener lost its connection")
	for range 2 {
		line := f.tap.waitFor(t, "notification listener reconnected: one catch-up run")
		if ch := attr(line, "channel").String(); !strings.HasPrefix(ch, "test_") {
			t.Errorf("reconnection line without its channel: %v", line)
		}
	}
	if got := ranJobs(t, ran, 2); got["alpha"] != 1 || got["beta"] != 1 {
		t.Fatalf("catch-up runs after the reconnection: %v", got)
	}
	f.clock.Advance(coalesceWindow)
	for _, ch := range []string{"test_alpha", "test_beta"} {
		if v := testutil.ToFloat64(listenerReconnects(f.reg).WithLabelValues(ch)); v != 1 {
			t.Errorf("opsworker_listener_reconnects_total{channel=%q} = %v, want 1", ch, v)
		}
	}

	notify(t, f.pool, "test_alpha")
	if got := ranJobs(t, ran, 1); got["alpha"] != 1 {
		t.Fatalf("a notification after the reconnection ran %v", got)
	}
	f.tap.waitFor(t, "run finished")
	var triggers []string
	if err := f.pool.QueryRow(context.Background(), `select array_agg(distinct trigger) from job_runs`).Scan(&triggers); err != nil {
		t.Fatal(err)
	}
	if len(triggers) != 1 || triggers[0] != TriggerNotify {
		t.Errorf("wake-up runs recorded with triggers %v, want notify", triggers)
	}
}

// While the database refuses connections the listener tries again with backoff, each attempt
// waiting on the scheduler's clock; once the database answers it listens again and catches up.
func TestListenBacksOffWhileTheDatabaseRefuses(t *testing.T) {
	f := newFixture(t)
	proxy := dbtest.NewProxy(t)
	s := f.scheduler(Options{})
	ran := wakeJobs(t, f, s, "gamma")
	s.Start()
	defer shutdown(s, 5*time.Second)
	cfg := connConfig(t, proxy.URL(f.pool.Config().ConnString()))
	cfg.ConnectTimeout = time.Second
	listen(t, s, ListenOptions{ConnConfig: cfg, Jobs: map[string]string{"test_gamma": "gamma"}, Registerer: f.reg})
	f.tap.waitFor(t, "notification listener up")
	ranJobs(t, ran, 1)

	proxy.Refuse()
	f.tap.waitFor(t, "notification listener lost its connection")
	first := f.tap.waitFor(t, "notification listener cannot connect yet")
	// The next attempt comes only when the clock has moved past the backoff.
	f.clock.Advance(attr(first, "retry_in").Duration())
	second := f.tap.waitFor(t, "notification listener cannot connect yet")
	if a, b := attr(first, "retry_in").Duration(), attr(second, "retry_in").Duration(); a <= 0 || b <= a {
		t.Errorf("backoff %v then %v: want growing waits", a, b)
	}
	proxy.Pass()
	f.clock.Advance(attr(second, "retry_in").Duration())
	f.tap.waitFor(t, "notification listener reconnected: one catch-up run")
	if got := ranJobs(t, ran, 1); got["gamma"] != 1 {
		t.Fatalf("catch-up after the outage ran %v", got)
	}
	if v := testutil.ToFloat64(listenerReconnects(f.reg).WithLabelValues("test_gamma")); v != 1 {
		t.Errorf("reconnects = %v, want 1", v)
	}
}

// Listen refuses at once what it cannot work with.
func TestListenRefusesBadOptions(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	wakeJobs(t, f, s, "known")
	cfg := connConfig(t, f.pool.Config().ConnString())
	for _, c := range []struct {
		o    ListenOptions
		want string
	}{
		{ListenOptions{Jobs: map[string]string{"c": "known"}}, "no connection configuration"},
		{ListenOptions{ConnConfig: cfg}, "no channel"},
		{ListenOptions{ConnConfig: cfg, Jobs: map[string]string{"c": "known", "d": "unknown"}}, `channel d wakes up job "unknown", which is not scheduled`},
	} {
		if err := s.Listen(context.Background(), c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Listen(%+v) = %v, want %q", c.o, err, c.want)
		}
	}
}
