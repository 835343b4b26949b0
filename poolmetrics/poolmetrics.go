// Package poolmetrics exports a pgx connection pool's statistics (pgxpool.Stat, read at each
// scrape) as Prometheus metrics named by Prometheus' conventions, so that `promtool check
// metrics` passes on them: counters end in _total, durations are in seconds, and the pool's
// connections are one gauge split by state rather than gauges that sum to another.
//
//	pgxpool_connections{state}                    gauge    connections by state: acquired, idle, constructing (their sum is the pool's size)
//	pgxpool_max_connections                       gauge    the pool's maximum size (MaxConns)
//	pgxpool_acquires_total                        counter  successful acquires
//	pgxpool_acquire_duration_seconds_total        counter  time spent in successful acquires, waiting included
//	pgxpool_acquires_canceled_total               counter  acquires given up because their context ended
//	pgxpool_empty_acquires_total                  counter  successful acquires that found no idle connection and waited for one
//	pgxpool_empty_acquire_wait_seconds_total      counter  time those acquires waited
//	pgxpool_connections_opened_total              counter  connections the pool opened
//	pgxpool_connections_expired_total{reason}     counter  connections the pool closed for their age: max_lifetime (MaxConnLifetime) or max_idle_time (MaxConnIdleTime)
//
// Saturation is rate(pgxpool_empty_acquires_total) (acquires that had to wait) or
// pgxpool_connections{state="acquired"} / pgxpool_max_connections; the mean wait is
// rate(pgxpool_acquire_duration_seconds_total) / rate(pgxpool_acquires_total). A process with
// several pools registers one collector per pool, each through prometheus.WrapRegistererWith
// with a label telling the pools apart.
package poolmetrics

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector is a prometheus.Collector of one pool's statistics.
type Collector struct {
	pool *pgxpool.Pool

	connections, maxConnections                      *prometheus.Desc
	acquires, acquireSeconds, canceled               *prometheus.Desc
	emptyAcquires, emptyWaitSeconds, opened, expired *prometheus.Desc
}

// New returns the collector of pool's statistics; register it on the registry /metrics serves.
func New(pool *pgxpool.Pool) *Collector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("pgxpool_"+name, help, labels, nil)
	}
	return &Collector{
		pool:             pool,
		connections:      desc("connections", "Connections in the pool by state: acquired (in use), idle, constructing (being opened).", "state"),
		maxConnections:   desc("max_connections", "The pool's maximum number of connections (MaxConns)."),
		acquires:         desc("acquires_total", "Successful acquires of a connection from the pool."),
		acquireSeconds:   desc("acquire_duration_seconds_total", "Time spent in successful acquires, waiting for a connection included."),
		canceled:         desc("acquires_canceled_total", "Acquires given up because their context ended before a connection was free."),
		emptyAcquires:    desc("empty_acquires_total", "Successful acquires that found no idle connection and waited for one to be released or opened."),
		emptyWaitSeconds: desc("empty_acquire_wait_seconds_total", "Time spent waiting by the acquires that found no idle connection."),
		opened:           desc("connections_opened_total", "Connections the pool opened."),
		expired:          desc("connections_expired_total", "Connections the pool closed for their age, by reason: max_lifetime (MaxConnLifetime) or max_idle_time (MaxConnIdleTime).", "reason"),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.connections, c.maxConnections, c.acquires, c.acquireSeconds, c.canceled,
		c.emptyAcquires, c.emptyWaitSeconds, c.opened, c.expired} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Stat takes the pool's lock for a moment and never
// touches the network, so a scrape costs nothing even while the database does not answer.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(c.connections, float64(s.AcquiredConns()), "acquired")
	gauge(c.connections, float64(s.IdleConns()), "idle")
	gauge(c.connections, float64(s.ConstructingConns()), "constructing")
	gauge(c.maxConnections, float64(s.MaxConns()))
	counter(c.acquires, float64(s.AcquireCount()))
	counter(c.acquireSeconds, s.AcquireDuration().Seconds())
	counter(c.canceled, float64(s.CanceledAcquireCount()))
	counter(c.emptyAcquires, float64(s.EmptyAcquireCount()))
	counter(c.emptyWaitSeconds, s.EmptyAcquireWaitTime().Seconds())
	counter(c.opened, float64(s.NewConnsCount()))
	counter(c.expired, float64(s.MaxLifetimeDestroyCount()), "max_lifetime")
	counter(c.expired, float64(s.MaxIdleDestroyCount()), "max_idle_time")
}
