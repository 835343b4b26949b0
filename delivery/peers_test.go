package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
)

// Two processes on one database disagree on DELIVERY_ALLOW_NETWORKS — one allows 127.0.0.1,
// the other nothing — and know it (PeersDisagree): 100 pages to a webhook on 127.0.0.1 are all
// sent, none failed, each received once; the refusing process counted no attempt for them.
func TestRefusalsWhileTheFleetDisagrees(t *testing.T) {
	const n = 100
	f := newFixture(t)
	rcv := newBenchReceiver(t, n)
	pages := pagesTo(t, f, n, rcv.URL)
	disagree := func(context.Context) bool { return true }
	var services []*delivery.Service
	for _, allow := range [][]delivery.Network{loopback, nil} {
		svc, err := delivery.New(f.pool, delivery.Options{Workers: 4, Timeout: 2 * time.Second, AllowNetworks: allow,
			PeersDisagree: disagree, Logger: f.logger()})
		if err != nil {
			t.Fatal(err)
		}
		services = append(services, svc)
	}
	err := pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) error {
		_, err := services[1].Enqueuer().Enqueue(f.ctx, tx, pages, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{}, 2*n)
	for _, svc := range services {
		events, cancel := svc.Client().Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled)
		defer cancel()
		go func() {
			for ev := range events {
				if ev.Job.Kind == (delivery.Args{}).Kind() { // not the retention job
					ended <- struct{}{}
				}
			}
		}()
		if err := svc.Start(f.ctx); err != nil {
			t.Fatal(err)
		}
		defer svc.Stop(context.Background())
	}
	timeout := time.After(60 * time.Second)
	for i := range n {
		select {
		case <-ended:
		case <-timeout:
			t.Fatalf("%d of %d deliveries ended in 60 s (%d received)", i, n, rcv.count())
		}
	}
	var sent, failed, attempts int64
	if err := f.pool.QueryRow(f.ctx, `select count(*) filter (where status = 'sent'), count(*) filter (where status = 'failed'),
		coalesce(sum(attempts), 0) from deliveries`).Scan(&sent, &failed, &attempts); err != nil {
		t.Fatal(err)
	}
	if sent != n || failed != 0 || attempts != n || rcv.duplicates() != 0 {
		t.Fatalf("%d sent, %d failed, %d attempts, %d received twice; want all %d sent, each at its one attempt", sent, failed, attempts, rcv.duplicates(), n)
	}
}

// When the fleet agrees, or the delivery has waited its retry horizon for a peer, a refusal is
// final at once, as before.
func TestRefusalsWhenTheFleetAgrees(t *testing.T) {
	for name, c := range map[string]struct {
		disagree bool
		age      time.Duration
	}{"the fleet agrees": {false, 0}, "the horizon has passed": {true, 29 * time.Minute}} {
		f := newFixture(t)
		rcv := newReceiver(t)
		page := f.page("acme", f.responder("acme", "Ann", "webhook", rcv.URL))
		_, ids := f.enqueue(page)
		dbtest.Exec(t, f.pool, `update deliveries set created_at = now() - $2::interval where id = $1`, ids[0], c.age.String())
		w := delivery.NewWorker(f.pool, delivery.WorkerOptions{
			Senders:     map[string]delivery.Sender{"webhook": delivery.Webhook{Destinations: delivery.NewDestinations(nil, time.Second)}},
			MaxAttempts: 10, Timeout: time.Second, Logger: f.logger(),
			PeersDisagree: func(context.Context) bool { return c.disagree },
		})
		if err := f.work(w, ids[0], 1); !isCancel(err) {
			t.Fatalf("%s: Work returned %v, want the job ended", name, err)
		}
		if r := f.delivery(ids[0]); r.Status != "failed" || r.Attempts != 0 {
			t.Errorf("%s: delivery %+v", name, r)
		}
	}
}
