package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/opsworker/opsworker/delivery"
)

// Through a running River client: a delivery whose receiver answers 500 and then 200 is retried
// on DESIGN's schedule (about 5 s later) and sent; one whose receiver answers 410 ends at once.
func TestThroughRiver(t *testing.T) {
	f := newFixture(t)
	flaky := newReceiver(t, status(500), status(200))
	gone := newReceiver(t, status(410))
	pages := []int64{
		f.page("acme", f.responder("acme", "Ann", "webhook", flaky.URL)),
		f.page("acme", f.responder("acme", "Bob", "webhook", gone.URL)),
	}
	client, err := delivery.NewClient(f.pool, delivery.ClientOptions{
		Workers: 4, Worker: f.worker(2*time.Second, nil, time.Now, loopback...), MaxAttempts: 10, Timeout: 2 * time.Second, Logger: f.logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	events, stop := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled, river.EventKindJobFailed)
	defer stop()
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = client.Stop(ctx)
	}()
	_, ids := f.enqueue(pages...)

	var first time.Time
	done := map[int64]river.EventKind{}
	timeout := time.After(30 * time.Second)
	for len(done) < 2 {
		select {
		case ev := <-events:
			switch ev.Kind {
			case river.EventKindJobFailed: // attempt 1 of the flaky one: retryable
				first = ev.Job.AttemptedAt.UTC()
			default:
				var args struct {
					DeliveryID int64 `json:"delivery_id"`
				}
				_ = jsonUnmarshal(ev.Job.EncodedArgs, &args)
				done[args.DeliveryID] = ev.Kind
			}
		case <-timeout:
			t.Fatalf("deliveries not done in 30 s: %v", done)
		}
	}
	if done[ids[0]] != river.EventKindJobCompleted || done[ids[1]] != river.EventKindJobCancelled {
		t.Fatalf("job outcomes %v", done)
	}
	r := f.delivery(ids[0])
	if r.Status != "sent" || r.Attempts != 2 || first.IsZero() {
		t.Fatalf("flaky delivery %+v, first attempt %v", r, first)
	}
	if gap := r.SentAt.Sub(first); gap < 4*time.Second || gap > 8*time.Second {
		t.Errorf("retried %v after the first attempt, want about 5 s", gap)
	}
	if r := f.delivery(ids[1]); r.Status != "failed" || r.Attempts != 1 {
		t.Errorf("gone delivery %+v", r)
	}
}
