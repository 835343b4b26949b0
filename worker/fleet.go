package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/schema"
)

// Fleet bookkeeping: every process registers in worker_instances, refreshes seen_at every
// heartbeatEvery, and counts as live while seen within liveFor. Rows of processes gone for
// longer than keepGone are pruned.
const (
	heartbeatEvery = 10 * time.Second
	liveFor        = 3 * heartbeatEvery
	keepGone       = 7 * 24 * time.Hour
)

// fleetSettings are the settings that must agree across replicas, each as a digest (never the
// value: some are secrets), by variable: a page's fate must not depend on which replica works
// it.
func (c *Config) fleetSettings() map[string]string {
	nets := make([]string, len(c.Delivery.AllowNetworks))
	for i, p := range c.Delivery.AllowNetworks {
		nets[i] = p.String()
	}
	sort.Strings(nets)
	return map[string]string{
		"DELIVERY_ALLOW_NETWORKS": digest(strings.Join(nets, ",")),
		// A link one replica makes must verify on every other, and say the same expiry.
		"PUBLIC_URL":      digest(c.Actions.PublicURL),
		"ACTION_SECRET":   digest("opsworker ACTION_SECRET\x00" + c.Actions.Secret),
		"ACTION_LINK_TTL": digest(c.Actions.TTL.String()),
	}
}

// digest is a short, stable digest of a setting's value.
func digest(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:8])
}

// configDigest digests all of settings.
func configDigest(settings map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&b, "%s=%s;", k, settings[k])
	}
	return digest(b.String())
}

// fleet is this process's registration and its view of the live peers.
type fleet struct {
	pool     *pgxpool.Pool
	instance string
	version  string
	settings map[string]string
	digest   string
	log      *slog.Logger
	mismatch prometheus.Gauge

	mu       sync.Mutex
	differ   []string  // the settings in which some live peer differs from this process
	known    bool      // whether the peers have been read at least once
	read     time.Time // when they were last read
	reported string    // the last difference warned about, so a warning is not repeated each beat
}

func newFleet(pool *pgxpool.Pool, cfg *Config, version string, reg prometheus.Registerer, log *slog.Logger) *fleet {
	s := cfg.fleetSettings()
	f := &fleet{pool: pool, instance: cfg.Instance, version: version, settings: s, digest: configDigest(s), log: log,
		mismatch: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "opsworker_config_mismatch",
			Help: "1 while a live peer runs with settings that must agree across replicas (allow-list, rates, action settings) set otherwise; 0 when all agree.",
		})}
	if reg != nil {
		reg.MustRegister(f.mismatch)
	}
	return f
}

// register writes this process's row (a restarted instance name starts afresh).
func (f *fleet) register(ctx context.Context, now time.Time) error {
	settings, _ := json.Marshal(f.settings)
	_, err := f.pool.Exec(ctx, `
insert into worker_instances (instance, version, schema_version, config_digest, settings, started_at, seen_at)
values ($1, $2, $3, $4, $5, $6, $6)
on conflict (instance) do update
set version = excluded.version, schema_version = excluded.schema_version, config_digest = excluded.config_digest,
    settings = excluded.settings, started_at = excluded.started_at, seen_at = excluded.seen_at, stopped_at = null`,
		f.instance, f.version, schema.Version(), f.digest, settings, now)
	if err != nil {
		return fmt.Errorf("register in worker_instances: %w", err)
	}
	return f.compare(ctx, now)
}

// beat refreshes seen_at, prunes long-gone rows, and compares settings with the live peers.
func (f *fleet) beat(ctx context.Context, now time.Time) error {
	if _, err := f.pool.Exec(ctx, `
with seen as (update worker_instances set seen_at = $2, stopped_at = null where instance = $1)
delete from worker_instances where seen_at < $3`, f.instance, now, now.Add(-keepGone)); err != nil {
		return fmt.Errorf("refresh worker_instances: %w", err)
	}
	return f.compare(ctx, now)
}

// compare reads the live peers' settings and notes (and warns once about) those that differ.
func (f *fleet) compare(ctx context.Context, now time.Time) error {
	rows, err := f.pool.Query(ctx, `
select instance, settings from worker_instances
where stopped_at is null and seen_at >= $2 and instance <> $1 and config_digest <> $3`,
		f.instance, now.Add(-liveFor), f.digest)
	if err != nil {
		return fmt.Errorf("read worker_instances: %w", err)
	}
	differ := map[string][]string{} // setting → peers that differ
	for rows.Next() {
		var peer string
		var settings map[string]string
		if err := rows.Scan(&peer, &settings); err != nil {
			rows.Close()
			return fmt.Errorf("read worker_instances: %w", err)
		}
		for k, v := range f.settings {
			if settings[k] != v {
				differ[k] = append(differ[k], peer)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read worker_instances: %w", err)
	}
	names := slices.Sorted(maps.Keys(differ))
	f.mu.Lock()
	f.differ, f.known, f.read = names, true, time.Now()
	report := strings.Join(names, ",") != f.reported
	f.reported = strings.Join(names, ",")
	f.mu.Unlock()
	if len(names) == 0 {
		f.mismatch.Set(0)
		if report {
			f.log.Info("settings agree with every live peer again")
		}
		return nil
	}
	f.mismatch.Set(1)
	if report {
		var peers []string
		for _, k := range names {
			peers = append(peers, differ[k]...)
		}
		slices.Sort(peers)
		f.log.Warn("settings differ from live peers: set them alike on every replica",
			"settings", strings.Join(names, ", "), "peers", strings.Join(slices.Compact(peers), ", "))
	}
	return nil
}

// disagree reports whether a live peer sets name otherwise than this process, or whether that is
// not known: a verdict that depends on name must then not be final. A view older than a second
// is read again first (a verdict is rare; a peer that started since the last heartbeat counts).
func (f *fleet) disagree(ctx context.Context, name string) bool {
	f.mu.Lock()
	stale := time.Since(f.read) > time.Second
	f.mu.Unlock()
	if stale {
		if err := f.compare(ctx, time.Now()); err != nil {
			return true
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.known || slices.Contains(f.differ, name)
}

// stop marks this process stopped (a clean exit).
func (f *fleet) stop(ctx context.Context, now time.Time) {
	if _, err := f.pool.Exec(ctx, `update worker_instances set stopped_at = $2, seen_at = $2 where instance = $1`, f.instance, now); err != nil {
		f.log.Debug("cannot mark this instance stopped", "error", err)
	}
}
