package escalation_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/escalation"
)

// benchAlerts is the number of due alerts of BenchmarkEscalateFloorShape: ESCALATION_BENCH_ALERTS,
// default 10,000.
func benchAlerts(b *testing.B) int {
	n := 10000
	if s := os.Getenv("ESCALATION_BENCH_ALERTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("ESCALATION_BENCH_ALERTS=%q: want a positive number", s)
		}
	}
	return n
}

// seedFloorShape makes bench/escalation-floor.sh's data: tenant t1 with a webhook secret,
// responders a and b with a webhook contact method each, a schedule on which a is on call, and a
// policy whose step 0 pages the schedule and b; and n alerts due at t0.
func (f *fixture) seedFloorShape(n int) {
	f.exec(`insert into tenants (id, name, time_zone, webhook_secret) values ('t1', 'T1', 'UTC', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')`)
	a, r := f.responder("t1", "a"), f.responder("t1", "b")
	f.exec(`insert into contact_methods (tenant_id, responder_id, kind, address) select 't1', id, 'webhook', 'https://hooks.example/' || id from responders`)
	s := f.schedule("t1", "s", "UTC")
	f.dailyLayer(s, 0, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), a)
	p := f.policy("t1", 0)
	f.step(p, 0, 5, scheduleT(s), responderT(r))
	f.exec(`insert into alerts (tenant_id, source, summary, escalation_policy_id, created_at, next_escalation_at)
	        select 't1', 'bench', 'b', $1, $2, $2 from generate_series(1, $3)`, p, t0, n)
	f.exec(`vacuum analyze`)
}

// floorTask returns an escalation task on f's database as `opsworker run escalation` makes it:
// deliveries queued through an insert-only River client; with ESCALATION_BENCH_TRACE=1 its pool
// also times every statement (statementTimes).
func floorTask(b *testing.B, f *fixture, opts escalation.Options) (*escalation.Task, *statementTimes) {
	b.Helper()
	st := &statementTimes{by: map[string]*statementTime{}}
	cfg := f.pool.Config()
	if os.Getenv("ESCALATION_BENCH_TRACE") == "1" {
		cfg.ConnConfig.Tracer = st
	}
	pool, enq := deliveringPool(b, cfg)
	opts.Deliveries = enq
	return escalation.New(pool, opts), st
}

// deliveringPool returns a pool made with cfg, closed when b ends, and an Enqueuer queuing
// deliveries through an insert-only River client on it, as `opsworker run` has.
func deliveringPool(b *testing.B, cfg *pgxpool.Config) (*pgxpool.Pool, *delivery.Enqueuer) {
	b.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	client, err := delivery.NewClient(pool, delivery.ClientOptions{MaxAttempts: 10})
	if err != nil {
		b.Fatal(err)
	}
	return pool, delivery.NewEnqueuer(client, 10)
}

// BenchmarkEscalateFloorShape: one run over ESCALATION_BENCH_ALERTS due alerts (default 10,000)
// on bench/escalation-floor.sh's data, writing what `opsworker run escalation` writes (pages,
// events, alert updates, deliveries and their River jobs), without the process's start. Each
// iteration runs on a database seeded afresh (untimed), as the floor script's rounds do.
// ESCALATION_BENCH_REPLICAS=k runs k tasks at once, each on its own pool, as k replicas would;
// ESCALATION_BENCH_BATCH and ESCALATION_BENCH_WORKERS set the options (0: defaults). For profiles:
//
//	ESCALATION_BENCH_ALERTS=50000 go test -run='^$' -bench=FloorShape -benchtime=1x -cpuprofile cpu.out ./tasks/escalation/
//
// ESCALATION_BENCH_TRACE=1 logs the time spent in each statement, as the client saw it;
// ESCALATION_BENCH_PG_CPU=1 reports the server's CPU time per run (see cpuMeter).
func BenchmarkEscalateFloorShape(b *testing.B) {
	n := benchAlerts(b)
	env := func(name string) int {
		v, _ := strconv.Atoi(os.Getenv(name))
		return v
	}
	opts := escalation.Options{BatchSize: env("ESCALATION_BENCH_BATCH"), Workers: env("ESCALATION_BENCH_WORKERS")}
	replicas := max(1, env("ESCALATION_BENCH_REPLICAS"))
	var elapsed time.Duration
	var cpu *cpuMeter
	var st *statementTimes
	for b.Loop() {
		b.StopTimer()
		f := newFixture(b)
		f.seedFloorShape(n)
		tasks := make([]*escalation.Task, replicas)
		for i := range tasks {
			tasks[i], st = floorTask(b, f, opts)
		}
		if cpu == nil {
			cpu = newCPUMeter(b, f)
		}
		b.StartTimer()
		start := time.Now()
		cpu.start()
		sums := make([]scheduler.Summary, replicas)
		errs := make([]error, replicas)
		var wg sync.WaitGroup
		for i, task := range tasks {
			wg.Go(func() { sums[i], errs[i] = task.Run(f.ctx, t0.Add(10*time.Second)) })
		}
		wg.Wait()
		cpu.stop()
		elapsed += time.Since(start)
		escalated, pages, deliveries := 0, 0, 0
		for i := range sums {
			if errs[i] != nil {
				b.Fatal(errs[i])
			}
			escalated += sums[i]["alerts_escalated"].(int)
			pages += sums[i]["pages"].(int)
			deliveries += sums[i]["deliveries"].(int)
		}
		if escalated != n || pages != 2*n || deliveries != 2*n {
			b.Fatalf("summaries %v, want %d alerts escalated with 2 pages and 2 deliveries each", sums, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "alerts/s")
	cpu.report(b)
	if os.Getenv("ESCALATION_BENCH_TRACE") == "1" {
		b.Logf("statements of the last run of the last replica (client-side wall time):\n%s", st)
	}
}

// statementTimes is a pgx tracer that sums the wall time of each statement, by its text.
type statementTimes struct {
	mu sync.Mutex
	by map[string]*statementTime
}

type statementTime struct {
	sql   string
	n     int
	total time.Duration
}

type startKey struct{}

func (s *statementTimes) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, startKey{}, struct {
		sql string
		at  time.Time
	}{data.SQL, time.Now()})
}

func (s *statementTimes) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	v := ctx.Value(startKey{}).(struct {
		sql string
		at  time.Time
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.by[v.sql]
	if t == nil {
		t = &statementTime{sql: v.sql}
		s.by[v.sql] = t
	}
	t.n++
	t.total += time.Since(v.at)
}

// TraceCopyFromStart and TraceCopyFromEnd time COPY (River's InsertManyFast) like a statement.
func (s *statementTimes) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	return s.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{SQL: "COPY " + data.TableName.Sanitize()})
}

func (s *statementTimes) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromEndData) {
	s.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{})
}

func (s *statementTimes) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.by = map[string]*statementTime{}
}

func (s *statementTimes) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*statementTime, 0, len(s.by))
	var total time.Duration
	for _, t := range s.by {
		list = append(list, t)
		total += t.total
	}
	slices.SortFunc(list, func(a, b *statementTime) int { return cmp.Compare(b.total, a.total) })
	var sb strings.Builder
	fmt.Fprintf(&sb, "%10s %6s  %s\n", "ms", "calls", "statement")
	for _, t := range list {
		line := strings.Join(strings.Fields(t.sql), " ")
		if len(line) > 110 {
			line = line[:110]
		}
		fmt.Fprintf(&sb, "%10.1f %6d  %s\n", float64(t.total.Microseconds())/1000, t.n, line)
	}
	fmt.Fprintf(&sb, "%10.1f         total\n", float64(total.Microseconds())/1000)
	return sb.String()
}

// cpuMeter measures the CPU time a benchmark's runs use: this process's (getrusage), and, with
// ESCALATION_BENCH_PG_CPU=1, the PostgreSQL server's, read from /proc: its postmaster, its live
// children and the backends it reaped. CPU time is far less sensitive to a busy machine than wall
// time; the server's is only meaningful for a server of one's own on this machine.
type cpuMeter struct {
	postmaster       int
	self, server     time.Duration // accumulated
	selfAt, serverAt time.Duration
	runs             int
}

func newCPUMeter(b *testing.B, f *fixture) *cpuMeter {
	m := &cpuMeter{}
	if os.Getenv("ESCALATION_BENCH_PG_CPU") != "1" {
		return m
	}
	var backend int
	if err := f.pool.QueryRow(f.ctx, `select pg_backend_pid()`).Scan(&backend); err != nil {
		b.Fatal(err)
	}
	st, err := procStat(backend)
	if err != nil {
		b.Fatalf("ESCALATION_BENCH_PG_CPU=1 needs the server's processes on this machine: %v", err)
	}
	m.postmaster, _ = strconv.Atoi(st[1]) // ppid
	return m
}

// procStat returns the fields of /proc/pid/stat after the command's name.
func procStat(pid int) ([]string, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(raw)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+2:]), nil
}

func ticks(fields []string, i int) time.Duration {
	n, _ := strconv.ParseInt(fields[i], 10, 64)
	return time.Duration(n) * 10 * time.Millisecond // CLK_TCK 100
}

// serverCPU is the server's CPU time so far.
func (m *cpuMeter) serverCPU() time.Duration {
	if m.postmaster == 0 {
		return 0
	}
	pm, err := procStat(m.postmaster)
	if err != nil {
		return 0
	}
	total := ticks(pm, 11) + ticks(pm, 12) + ticks(pm, 13) + ticks(pm, 14) // utime stime cutime cstime
	children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", m.postmaster, m.postmaster))
	for _, c := range strings.Fields(string(children)) {
		pid, _ := strconv.Atoi(c)
		if st, err := procStat(pid); err == nil {
			total += ticks(st, 11) + ticks(st, 12)
		}
	}
	return total
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (m *cpuMeter) start() { m.selfAt, m.serverAt = selfCPU(), m.serverCPU() }

func (m *cpuMeter) stop() {
	m.self += selfCPU() - m.selfAt
	m.server += m.serverCPU() - m.serverAt
	m.runs++
}

func (m *cpuMeter) report(b *testing.B) {
	b.ReportMetric(float64(m.self.Milliseconds())/float64(m.runs), "client-cpu-ms/run")
	if m.postmaster != 0 {
		b.ReportMetric(float64(m.server.Milliseconds())/float64(m.runs), "server-cpu-ms/run")
	}
}
