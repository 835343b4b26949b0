package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
)

// Fault tests of the built binary: kill -9, two processes on one database, backends terminated
// at random, a blackholed database at shutdown, and a database that is not up yet.

// process is a running `opsworker serve` with its JSON log.
type process struct {
	cmd  *exec.Cmd
	logs *jsonLines
}

// startServe starts the built binary's serve with env on top of the test's environment.
func startServe(t *testing.T, env ...string) *process {
	t.Helper()
	cmd := exec.Command(opsworkerBinary(t), "serve")
	cmd.Env = append(os.Environ(), append([]string{"HTTP_ADDR=127.0.0.1:0", "LOG_FORMAT=json", "LOG_LEVEL=debug",
		"REPORT_SCHEDULE=off", "SHUTDOWN_TIMEOUT=5s"}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: readJSONLines(t, stderr)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return p
}

// stop sends SIGTERM and returns how long the process took to exit, and its exit code.
func (p *process) stop(t *testing.T) (time.Duration, int) {
	t.Helper()
	t0 := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.logs.done
	_ = p.cmd.Wait()
	return time.Since(t0), p.cmd.ProcessState.ExitCode()
}

// seedAlerts creates a tenant whose one-step policy pages one responder, and n due alerts.
func seedAlerts(t testing.TB, pool *pgxpool.Pool, n int) {
	t.Helper()
	dbtest.Exec(t, pool, `
		with t as (insert into tenants (id, name) values ('acme', 'Acme') returning id),
		     r as (insert into responders (tenant_id, name) select id, 'Ann' from t returning id),
		     p as (insert into escalation_policies (tenant_id, name) select id, 'p' from t returning id),
		     s as (insert into escalation_steps (policy_id, position, delay_minutes) select id, 0, 60 from p returning policy_id)
		insert into escalation_step_targets (policy_id, position, responder_id) select s.policy_id, 0, r.id from s, r`)
	dbtest.Exec(t, pool, `
		insert into alerts (tenant_id, source, summary, escalation_policy_id, created_at, next_escalation_at)
		select 'acme', 'fault', 'a' || i, (select id from escalation_policies), now() - interval '1 minute', now() - interval '1 minute'
		from generate_series(1, $1) i`, n)
}

// paged checks that every alert is paged exactly once at step 0, with one escalated event, and
// returns false while some are not paged yet.
func paged(t *testing.T, pool *pgxpool.Pool, n int) bool {
	t.Helper()
	var alerts, pages, distinct, events int64
	err := pool.QueryRow(context.Background(), `
		select (select count(*) from alerts where escalation_step = 0),
		       (select count(*) from notifications),
		       (select count(distinct alert_id) from notifications),
		       (select count(*) from alert_events where event = 'escalated')`).Scan(&alerts, &pages, &distinct, &events)
	if err != nil {
		t.Fatal(err)
	}
	if pages != distinct || events != alerts || pages != alerts {
		t.Fatalf("doubled or lost: %d alerts escalated, %d pages for %d alerts, %d escalated events", alerts, pages, distinct, events)
	}
	return int(alerts) == n
}

// oneRowPerFiring fails t if a cron firing of job has more than one history row or, while some
// process ran (from the first firing recorded to the last), none.
func oneRowPerFiring(t *testing.T, pool *pgxpool.Pool, job string, interval time.Duration) {
	t.Helper()
	var firings, distinct int64
	var first, last time.Time
	err := pool.QueryRow(context.Background(), `
		select count(*), count(distinct scheduled_at), min(scheduled_at), max(scheduled_at)
		from job_runs where job = $1 and trigger = 'schedule'`, job).Scan(&firings, &distinct, &first, &last)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(last.Sub(first)/interval) + 1; firings != distinct || firings != want {
		t.Fatalf("%d history rows for %d firings; %d firings from %v to %v", firings, distinct, want, first, last)
	}
}

// noFiringTwice fails t if a cron firing of job has more than one history row.
func noFiringTwice(t *testing.T, pool *pgxpool.Pool, job string) {
	t.Helper()
	var firings, distinct int64
	err := pool.QueryRow(context.Background(), `select count(*), count(distinct scheduled_at)
		from job_runs where job = $1 and trigger = 'schedule'`, job).Scan(&firings, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if firings != distinct {
		t.Fatalf("%d history rows for %d firings", firings, distinct)
	}
}

// kill -9 of a serve process in the middle of a large escalation: the next process finishes the
// work, nothing is paged twice and nothing is lost, and the history says the killed run's process
// is gone.
func TestKill9MidRun(t *testing.T) {
	dbURL := dbtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const n = 20000
	seedAlerts(t, pool, n)
	a := startServe(t, "DATABASE_URL="+dbURL, "ESCALATION_SCHEDULE=@every 1s")
	a.logs.waitFor(t, "escalation batch committed", nil)
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.logs.done
	_ = a.cmd.Wait()
	if paged(t, pool, n) {
		t.Fatal("the killed process finished the whole escalation: nothing was interrupted")
	}

	b := startServe(t, "DATABASE_URL="+dbURL, "ESCALATION_SCHEDULE=@every 1s")
	for !paged(t, pool, n) {
		b.logs.waitFor(t, "run finished", func(m map[string]any) bool { return m["job"] == "escalation" })
	}
	if took, code := b.stop(t); code != 0 {
		t.Fatalf("exit %d after %v", code, took)
	}
	var abandoned int
	if err := pool.QueryRow(context.Background(), `select count(*) from job_runs
		where error like 'abandoned: its process (%) is gone'`).Scan(&abandoned); err != nil {
		t.Fatal(err)
	}
	if abandoned != 1 {
		t.Errorf("%d runs marked abandoned, want the killed one", abandoned)
	}
	noFiringTwice(t, pool, "escalation") // no process ran between the kill and the restart
}

// Two serve processes on one database: every firing runs once (one history row each), and every
// alert is paged once.
func TestTwoProcesses(t *testing.T) {
	dbURL := dbtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const n = 3000
	seedAlerts(t, pool, n)
	var procs []*process
	for range 2 {
		procs = append(procs, startServe(t, "DATABASE_URL="+dbURL, "ESCALATION_SCHEDULE=@every 1s"))
	}
	for !paged(t, pool, n) {
		procs[0].logs.waitFor(t, "run started", nil)
	}
	for range 3 { // a few more firings, with nothing to do
		procs[0].logs.waitFor(t, "run started", nil)
	}
	for _, p := range procs {
		if _, code := p.stop(t); code != 0 {
			t.Fatalf("exit %d", code)
		}
	}
	oneRowPerFiring(t, pool, "escalation", time.Second)
	var running, instances int
	if err := pool.QueryRow(context.Background(), `select count(*) filter (where status = 'running'), count(distinct instance)
		from job_runs where job = 'escalation'`).Scan(&running, &instances); err != nil {
		t.Fatal(err)
	}
	if running != 0 || instances != 2 {
		t.Errorf("%d runs left running, %d instances ran firings (want 0 and 2)", running, instances)
	}
}

// Backends of the worker terminated at random — the lock holder, a batch's connection — while
// manual runs escalate: runs fail, later runs go on, and in the end every alert is paged exactly
// once.
func TestBackendsTerminatedAtRandom(t *testing.T) {
	dbURL := dbtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const n = 5000
	seedAlerts(t, pool, n)
	var dbName string
	if err := pool.QueryRow(context.Background(), "select current_database()").Scan(&dbName); err != nil {
		t.Fatal(err)
	}

	// killOne waits for the run to be at work (a backend of it reads or writes alerts: not the
	// migration's or the schema check's start-up queries), then, after a random moment, terminates
	// a random backend of the run at work: its lock holder or a batch's connection (not an idle one
	// of the pool, whose loss the run would not notice).
	killOne := func(ctx context.Context) int {
		for ctx.Err() == nil {
			var k int
			_ = pool.QueryRow(ctx, `select count(*) from pg_stat_activity a where datname = $1
				and application_name like 'opsworker %' and state in ('active', 'idle in transaction') and query ilike '%alerts%'`, dbName).Scan(&k)
			if k > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond) // the fault's schedule, not a wait for an outcome
		}
		time.Sleep(time.Duration(rand.IntN(50)) * time.Millisecond)
		var k int
		_ = pool.QueryRow(ctx, `select count(pg_terminate_backend(pid)) from (
			select pid from pg_stat_activity a where datname = $1 and application_name like 'opsworker %'
			and (state in ('active', 'idle in transaction') or exists (select 1 from pg_locks l where l.pid = a.pid and l.locktype = 'advisory'))
			order by random() limit 1) x`, dbName).Scan(&k)
		return k
	}
	kills, failures := 0, 0
	for attempt := 0; !paged(t, pool, n); attempt++ {
		if attempt == 100 {
			t.Fatal("no progress after 100 runs")
		}
		ctx, cancel := context.WithCancel(context.Background())
		killed := make(chan int, 1)
		go func() { killed <- killOne(ctx) }()
		cmd := exec.Command(opsworkerBinary(t), "run", "escalation", "--at", time.Now().Format(time.RFC3339))
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "LOG_LEVEL=error", "DATABASE_WAIT=5s")
		if err := cmd.Run(); err != nil {
			failures++
		}
		cancel()
		kills += <-killed
	}
	if kills == 0 || failures == 0 {
		t.Fatalf("%d backends terminated, %d runs failed: the fault did not happen", kills, failures)
	}
	t.Logf("%d backends terminated, %d runs failed, all %d alerts paged once", kills, failures, n)
}

// With the database blackholed, SIGTERM still ends the process, with exit code 0, within
// SHUTDOWN_TIMEOUT + 5 s.
func TestShutdownWithTheDatabaseBlackholed(t *testing.T) {
	dbURL := dbtest.NewURL(t)
	proxy := dbtest.NewProxy(t)
	p := startServe(t, "DATABASE_URL="+proxy.URL(dbURL), "ESCALATION_SCHEDULE=@every 1s", "SHUTDOWN_TIMEOUT=2s")
	p.logs.waitFor(t, "run finished", nil)
	proxy.Blackhole()
	p.logs.waitFor(t, "cron: run", nil) // a firing now waits on the blackhole
	took, code := p.stop(t)
	if code != 0 || took > 7*time.Second {
		t.Fatalf("exit %d after %v, want 0 within 7s (SHUTDOWN_TIMEOUT 2s + 5s)", code, took)
	}
	t.Logf("exited %v after SIGTERM", took.Round(time.Millisecond))
}

// Started before its database: serve waits (logging each wait, answering /healthz 200 and
// /readyz 503) and starts when the database answers; past DATABASE_WAIT it exits 1 with one
// clear line.
func TestStartsBeforeTheDatabase(t *testing.T) {
	dbURL := dbtest.NewURL(t)
	proxy := dbtest.NewProxy(t)
	proxy.Refuse()
	const password = "wait-Secret-77"
	p := startServe(t, "DATABASE_URL="+withPassword(proxy.URL(dbURL), password), "DATABASE_WAIT=60s")
	addr := p.logs.waitFor(t, "HTTP endpoints up", nil)["http_addr"].(string)
	p.logs.waitFor(t, "waiting for the database", nil)
	p.logs.waitFor(t, "waiting for the database", nil)
	if code, _ := get(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d while waiting, want 200", code)
	}
	if code, body := get(t, "http://"+addr+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d %q while waiting, want 503", code, body)
	}
	proxy.Pass()
	p.logs.waitFor(t, "opsworker started", nil)
	if code, _ := get(t, "http://"+addr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d once started", code)
	}
	if _, code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(p.logs.text(), password) {
		t.Error("the password appears in the log")
	}

	proxy.Refuse()
	cmd := exec.Command(opsworkerBinary(t), "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+proxy.URL(dbURL), "DATABASE_WAIT=2s", "HTTP_ADDR=127.0.0.1:0")
	t0 := time.Now()
	out, _ := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if cmd.ProcessState.ExitCode() != 1 || time.Since(t0) > 10*time.Second ||
		!strings.Contains(last, "cannot start") || !strings.Contains(last, "does not answer (waited 2s; DATABASE_WAIT=2s)") {
		t.Fatalf("exit %d after %v, last line %q", cmd.ProcessState.ExitCode(), time.Since(t0), last)
	}
}
