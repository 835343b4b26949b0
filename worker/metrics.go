package worker

import (
	"runtime"
	"runtime/debug"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/opsworker/opsworker/poolmetrics"
	"github.com/opsworker/opsworker/scheduler"
)

// Build says which build is running: the version and VCS revision stamped at build time.
type Build struct {
	Version  string
	Revision string // empty: read from the binary's build information, where the go command recorded it
}

// newRegistry returns the registry /metrics serves: the Go runtime and process collectors and
// opsworker_build_info; registerPool adds the pool's gauges once there is a pool.
func newRegistry(b Build) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(b),
	)
	return reg
}

// registerPool adds the pool's gauges (pgxpool_*, from pgxpool.Stat at each scrape).
func registerPool(reg prometheus.Registerer, pool *pgxpool.Pool) {
	reg.MustRegister(poolmetrics.New(pool))
}

// buildInfo is the constant 1 labelled with what is running, so a dashboard can show versions
// across replicas and an alert can tell a deploy from a failure.
func buildInfo(b Build) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "opsworker_build_info",
		Help:        "Always 1; its labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.revision(), "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}

// revision is the stamped revision, or the VCS revision the go command recorded when the binary
// was built from a checkout (go build records it; an image built without .git has none).
func (b Build) revision() string {
	if b.Revision != "" {
		return b.Revision
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}

// registerIntervals adds opsworker_job_interval_seconds: for each enabled task, the longest time
// between two firings of its spec (from the configuration's load, a year ahead). An alert on a
// task's last success compares its age with this, whatever the spec (see
// deploy/prometheus/rules.yml).
func registerIntervals(reg prometheus.Registerer, cfg *Config) {
	scheduler.RegisterIntervals(reg, cfg.Loaded, cfg.Specs)
}
