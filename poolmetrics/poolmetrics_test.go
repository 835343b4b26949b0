package poolmetrics

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/opsworker/opsworker/dbtest"
)

// A real pool of two connections: two acquires open both (each found the pool empty), a third
// after their release takes an idle one, and one with an ended context is canceled. The
// collector reports each figure under its conventional name, and the output passes client_golang's
// lint and, where it is installed, `promtool check metrics`.
func TestCollector(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(dbtest.NewEmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns, cfg.MinConns = 2, 0
	ctx := context.Background()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(pool))

	a, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, reg, `
pgxpool_acquires_total 2
pgxpool_acquires_canceled_total 0
pgxpool_connections{state="acquired"} 2
pgxpool_connections{state="constructing"} 0
pgxpool_connections{state="idle"} 0
pgxpool_connections_expired_total{reason="max_idle_time"} 0
pgxpool_connections_expired_total{reason="max_lifetime"} 0
pgxpool_connections_opened_total 2
pgxpool_empty_acquires_total 2
pgxpool_max_connections 2
`)
	a.Release()
	b.Release()
	c, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := pool.Acquire(ended); err == nil {
		t.Fatal("an acquire with an ended context succeeded")
	}
	expect(t, reg, `
pgxpool_acquires_total 3
pgxpool_acquires_canceled_total 1
pgxpool_connections{state="acquired"} 1
pgxpool_connections{state="constructing"} 0
pgxpool_connections{state="idle"} 1
pgxpool_connections_expired_total{reason="max_idle_time"} 0
pgxpool_connections_expired_total{reason="max_lifetime"} 0
pgxpool_connections_opened_total 2
pgxpool_empty_acquires_total 2
pgxpool_max_connections 2
`)
	for _, name := range []string{"pgxpool_acquire_duration_seconds_total", "pgxpool_empty_acquire_wait_seconds_total"} {
		if v := series(t, reg)[name]; v <= 0 || v > 60 { // opening a connection takes some time, in seconds
			t.Errorf("%s = %v", name, v)
		}
	}

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	promtool := promtoolPath(t)
	if promtool == "" {
		return
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(exposition(t, reg))
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// expect checks the series of reg that want names, one `name{labels} value` a line.
func expect(t *testing.T, reg *prometheus.Registry, want string) {
	t.Helper()
	have := series(t, reg)
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		key, v, _ := strings.Cut(line, " ")
		got, ok := have[key]
		if !ok {
			t.Errorf("no series %s", key)
		} else if fmt.Sprint(got) != v {
			t.Errorf("%s = %v, want %s", key, got, v)
		}
	}
}

// series is every series of reg by name and labels, as the text format prints them.
func series(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := f.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			out[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return out
}

// exposition is reg's metrics in the text format /metrics serves.
func exposition(t *testing.T, reg *prometheus.Registry) []byte {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// promtoolPath is Debian's promtool (package prometheus), or "" where it is not installed; in CI
// (CI set) its absence fails the test, as .ci/run installs it.
func promtoolPath(t *testing.T) string {
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no promtool: .ci/run installs Debian's prometheus package")
		}
		t.Log("no promtool on this machine: its check is skipped")
		return ""
	}
	return p
}
