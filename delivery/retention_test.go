package delivery_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
)

// retentionNow is the instant the retention tests prune at.
var retentionNow = time.Date(2027, 8, 1, 12, 0, 0, 0, time.UTC)

// retentionDeliveries makes a page with one delivery per (age, status) given, created that long
// before retentionNow, and returns their ids in order.
func retentionDeliveries(t *testing.T, db *pgxpool.Pool, rows ...struct {
	age    time.Duration
	status string
}) []int64 {
	t.Helper()
	dbtest.Exec(t, db, `insert into tenants (id, name) values ('acme', 'Acme') on conflict do nothing`)
	r := dbtest.Int64(t, db, `insert into responders (tenant_id, name) values ('acme', 'r') returning id`)
	cm := dbtest.Int64(t, db, `insert into contact_methods (tenant_id, responder_id, kind, address) values ('acme', $1, 'webhook', 'https://hooks.example/') returning id`, r)
	alert := dbtest.Int64(t, db, `insert into alerts (tenant_id, source, summary) values ('acme', 'test', 'old') returning id`)
	var ids []int64
	for i, row := range rows {
		page := dbtest.Int64(t, db, `insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status)
			values ('acme', $1, $2, 'escalation', 0, $3, 'sent') returning id`, alert, r, i)
		ids = append(ids, dbtest.Int64(t, db, `insert into deliveries (tenant_id, notification_id, contact_method_id, kind, status, created_at, finished_at)
			values ('acme', $1, $2, 'webhook', $3, $4, case when $3 <> 'pending' then $4::timestamptz end) returning id`,
			page, cm, row.status, retentionNow.Add(-row.age)))
	}
	return ids
}

// Finished deliveries older than the retention go, a chunk at a time; pending ones and younger
// ones stay.
func TestPruneDeliveries(t *testing.T) {
	pool := dbtest.New(t)
	const day = 24 * time.Hour
	ids := retentionDeliveries(t, pool, []struct {
		age    time.Duration
		status string
	}{
		{100 * day, "sent"}, {95 * day, "failed"}, {91 * day, "cancelled"}, {200 * day, "pending"},
		{89 * day, "sent"}, {time.Hour, "failed"}, {92 * day, "sent"},
	}...)
	n, err := delivery.PruneDeliveries(context.Background(), pool, retentionNow, 90*day, 2)
	if err != nil || n != 4 {
		t.Fatalf("pruned %d, %v; want 4", n, err)
	}
	rows, err := pool.Query(context.Background(), `select id from deliveries order by id`)
	if err != nil {
		t.Fatal(err)
	}
	left, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{ids[3], ids[4], ids[5]}; !slices.Equal(left, want) {
		t.Fatalf("left %v, want %v (the pending one, the young ones)", left, want)
	}
	// The worker prunes at its clock, with its retention.
	w := delivery.NewRetentionWorker(pool, delivery.RetentionOptions{Deliveries: 30 * day}, func() time.Time { return retentionNow.Add(60 * day) })
	if err := w.Work(context.Background(), &river.Job[delivery.RetentionArgs]{}); err != nil {
		t.Fatal(err)
	}
	if got := dbtest.Int64(t, pool, `select count(*) from deliveries`); got != 1 {
		t.Fatalf("%d deliveries left after the worker, want 1 (the pending one)", got)
	}
}

func TestRetentionOptions(t *testing.T) {
	o := delivery.RetentionOptions{}.WithDefaults()
	if o.Deliveries != delivery.DefaultDeliveryRetention || o.Jobs != delivery.DefaultJobRetention || o.Validate() != nil {
		t.Fatalf("defaults %+v: %v", o, o.Validate())
	}
	for _, c := range []struct {
		o    delivery.RetentionOptions
		want string
	}{
		{delivery.RetentionOptions{Deliveries: time.Hour}, `configuration: DELIVERY_RETENTION="1h0m0s": must be a duration from 24h0m0s to 87840h0m0s, such as 2160h (90 days)`},
		{delivery.RetentionOptions{Jobs: time.Second}, `configuration: DELIVERY_JOB_RETENTION="1s": must be a duration from 1m0s to 87840h0m0s, such as 24h`},
	} {
		if err := c.o.WithDefaults().Validate(); err == nil || err.Error() != c.want {
			t.Fatalf("%+v: %v, want %s", c.o, err, c.want)
		}
	}
	var cfg river.Config
	delivery.RetentionOptions{Jobs: 2 * time.Hour}.WithDefaults().Apply(&cfg)
	if cfg.CompletedJobRetentionPeriod != 2*time.Hour || cfg.CancelledJobRetentionPeriod != 2*time.Hour || cfg.DiscardedJobRetentionPeriod != 7*24*time.Hour {
		t.Fatalf("river config %v %v %v", cfg.CompletedJobRetentionPeriod, cfg.CancelledJobRetentionPeriod, cfg.DiscardedJobRetentionPeriod)
	}
	// A client working the queue takes the periodic job and its worker.
	pool := dbtest.New(t)
	workers := river.NewWorkers()
	river.AddWorker(workers, delivery.NewRetentionWorker(pool, delivery.RetentionOptions{}, time.Now))
	cfg = river.Config{Workers: workers, Queues: map[string]river.QueueConfig{delivery.Queue: {MaxWorkers: 1}},
		PeriodicJobs: []*river.PeriodicJob{delivery.RetentionJob()}}
	if _, err := river.NewClient(riverpgxv5.New(pool), &cfg); err != nil {
		t.Fatal(err)
	}
}
