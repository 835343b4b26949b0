package handoff_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/opsworker/opsworker/oncall"
	"github.com/opsworker/opsworker/tasks/handoff"
)

// A preview of a window lists exactly the notices that runs covering the window write, with the
// same content, in the order they are sent, recipients by channel.
func TestPreviewIsWhatRunsSend(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme")
	alice := f.responder("acme", "Alice", "webhook", "email")
	bob := f.responder("acme", "Bob")
	sched := f.schedule("acme", "Primary", "Europe/Berlin")
	f.layer(sched, 1, at("2027-03-26T08:00:00Z"), 8, "hour", alice, bob)
	sub := f.subscribe("acme", sched, "slack")
	const lead = 30 * time.Minute
	from, until := at("2027-03-27T10:00:00Z"), at("2027-03-29T10:00:00Z")

	p, err := handoff.Window(f.ctx, f.pool, sched, from, until, lead)
	if err != nil {
		t.Fatal(err)
	}
	if p.ScheduleID != sched || p.Name != "Primary" || p.TimeZone != "Europe/Berlin" || p.Lead != "30m0s" || len(p.Notices) == 0 {
		t.Fatalf("preview %+v", p)
	}
	for i, n := range p.Notices {
		if i > 0 && n.SendAt.Before(p.Notices[i-1].SendAt) {
			t.Errorf("notice %d sent before the one before it", i)
		}
		switch n.Kind {
		case "changed":
			if n.To.SubscriptionID != sub || n.To.Channel != "slack" || !n.SendAt.Equal(n.ChangeAt) {
				t.Errorf("changed notice %+v", n)
			}
		case "upcoming":
			wantMethods := 2
			if n.To.Responder.ID == bob {
				wantMethods = 0
			}
			if len(n.To.ContactMethods) != wantMethods || !n.SendAt.Equal(n.ChangeAt.Add(-lead)) {
				t.Errorf("upcoming notice %+v", n)
			}
		}
		if n.Text != n.Notice.Text() {
			t.Errorf("text %q", n.Text)
		}
	}

	// Runs covering the same window: the cursor as a run at from leaves it, then every 7 minutes.
	f.exec(`insert into handoff_cursors (schedule_id, tenant_id, changed_through, upcoming_through, updated_at) values ($1, 'acme', $2, $3, $2)`,
		sched, from, from.Add(lead))
	task := f.task(lead)
	for now := from; now.Before(until); {
		if now = now.Add(7 * time.Minute); now.After(until) {
			now = until
		}
		f.run(task, now)
	}
	var previewed, written []string
	for _, n := range p.Notices {
		previewed = append(previewed, fmt.Sprintf("%s %s %d %d %s", n.ChangeAt.UTC().Format(time.RFC3339), n.Kind, n.To.SubscriptionID, responderOf(n), n.Notice.Text()))
	}
	for _, n := range f.notices() {
		written = append(written, fmt.Sprintf("%s %s %d %d %s", n.ChangeAt.UTC().Format(time.RFC3339), n.Kind, n.Subscription, n.Responder, n.Notice.Text()))
	}
	slices.Sort(previewed)
	slices.Sort(written)
	if !slices.Equal(previewed, written) {
		t.Fatalf("previewed:\n%q\nwritten:\n%q", previewed, written)
	}

	if _, err := handoff.Window(f.ctx, f.pool, 4242, from, until, lead); !errors.Is(err, oncall.ErrNotFound) {
		t.Errorf("unknown schedule: %v", err)
	}
}

func responderOf(n handoff.Planned) int64 {
	if n.To.Responder == nil {
		return 0
	}
	return n.To.Responder.ID
}

// Replicas running at the same instants (small batches, so they interleave) write each notice
// once and queue its deliveries once: what one run alone would write.
func TestReplicasTellOnce(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme")
	a := f.responder("acme", "A", "webhook")
	b := f.responder("acme", "B", "webhook")
	const schedules, lead = 30, 10 * time.Minute
	start := at("2027-05-03T10:00:00Z")
	var want int
	var ids []int64
	for i := range schedules {
		s := f.schedule("acme", fmt.Sprint("s", i), "UTC")
		ids = append(ids, s)
		f.layer(s, 1, start.Add(time.Duration(i)*time.Minute), 1, "hour", a, b)
		f.subscribe("acme", s, "webhook")
		f.exec(`insert into handoff_cursors (schedule_id, tenant_id, changed_through, upcoming_through, updated_at) values ($1, 'acme', $2, $3, $2)`,
			s, start, start.Add(lead))
	}
	end := start.Add(3 * time.Hour)
	for _, s := range ids {
		p, err := handoff.Window(f.ctx, f.pool, s, start, end, lead)
		if err != nil {
			t.Fatal(err)
		}
		want += len(p.Notices)
	}
	replicas := []*handoff.Task{
		handoff.New(f.pool, handoff.Options{Lead: lead, Deliveries: f.enq, BatchSize: 3}),
		handoff.New(f.pool, handoff.Options{Lead: lead, Deliveries: f.enq, BatchSize: 3}),
	}
	for now := start.Add(5 * time.Minute); !now.After(end); now = now.Add(5 * time.Minute) {
		var wg sync.WaitGroup
		for _, task := range replicas {
			wg.Go(func() {
				if _, err := task.Run(f.ctx, now); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	if got := f.id(`select count(*) from handoff_notices`); got != int64(want) || want != schedules*3*2 {
		t.Fatalf("%d notices, want %d (%d)", got, want, schedules*3*2)
	}
	if got := f.id(`select count(*) from deliveries where message = 'notice'`); got != int64(want) {
		t.Errorf("%d deliveries, want %d", got, want)
	}
	if got := f.id(`select count(*) from handoff_cursors where changed_through <> $1 or upcoming_through <> $2`, end, end.Add(lead)); got != 0 {
		t.Errorf("%d cursors not at the end", got)
	}
}
