package alertchange_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/alertchange"
	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/vocab"
)

// change is one followups row as the trigger wrote it.
type change struct {
	Status, Previous string
	At               time.Time
	By, Via          *string
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// The trigger records every change of alerts.status of an alert that has pages — and only those —
// with who and how: another service's write as via null, by its acknowledged_by; the worker's,
// attributed with Attribute, as it says, for that transaction only. Each recorded change notifies
// opsworker_followups with the tenant's id at commit.
func TestTriggerRecordsStatusChanges(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewURL(t)
	pool := dbtest.NewPool(t, url)
	listener, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, "listen opsworker_followups"); err != nil {
		t.Fatal(err)
	}

	dbtest.Exec(t, pool, `insert into tenants (id, name) values ('acme', 'Acme')`)
	r := dbtest.Int64(t, pool, `insert into responders (tenant_id, name) values ('acme', 'Ann') returning id`)
	alert := func(paged bool) int64 {
		id := dbtest.Int64(t, pool, `insert into alerts (tenant_id, source, summary) values ('acme', 'test', 'disk full') returning id`)
		if paged {
			dbtest.Exec(t, pool, `insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step)
			                     values ('acme', $1, $2, 'escalation', 0, 0)`, id, r)
		}
		return id
	}
	changes := func(id int64) []change {
		rows, _ := pool.Query(ctx, `select status, previous_status, changed_at, changed_by, via from followups where alert_id = $1 order by id`, id)
		out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[change])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	notified := func() string {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		n, err := listener.WaitForNotification(wctx)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return n.Payload
	}

	// Never paged: nothing to tell anyone.
	quiet := alert(false)
	dbtest.Exec(t, pool, `update alerts set status = 'acknowledged', acknowledged_at = now(), acknowledged_by = 'api' where id = $1`, quiet)
	if c := changes(quiet); len(c) != 0 {
		t.Fatalf("an alert without pages recorded %v", c)
	}

	// Another service acknowledges, then resolves; an update that keeps the status records nothing.
	paged := alert(true)
	dbtest.Exec(t, pool, `update alerts set status = 'acknowledged', acknowledged_at = now(), acknowledged_by = 'Bo (API)' where id = $1`, paged)
	if p := notified(); p != "acme" {
		t.Fatalf("notification payload %q, want the tenant", p)
	}
	dbtest.Exec(t, pool, `update alerts set status = 'acknowledged', summary = 'disk 99% full' where id = $1`, paged)
	dbtest.Exec(t, pool, `update alerts set status = 'resolved', resolved_at = now() where id = $1`, paged)
	notified()
	c := changes(paged)
	if len(c) != 2 || c[0].Status != "acknowledged" || c[0].Previous != "triggered" || str(c[0].By) != "Bo (API)" || c[0].Via != nil ||
		c[1].Status != "resolved" || c[1].Previous != "acknowledged" || c[1].By != nil || c[1].Via != nil {
		t.Fatalf("service changes recorded as %+v", c)
	}

	// The worker's own write, attributed: via, by and at as it says; the next transaction on the
	// same connection is another service's again.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	at := time.Date(2027, 5, 3, 10, 2, 0, 0, time.UTC)
	worker := alert(true)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := alertchange.Attribute(ctx, tx, vocab.ViaLink, "Carol", at); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `update alerts set status = 'resolved', resolved_at = $2 where id = $1`, worker, at); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	notified()
	if _, err := conn.Exec(ctx, `update alerts set status = 'triggered', resolved_at = null where id = $1`, worker); err != nil {
		t.Fatal(err)
	}
	notified()
	c = changes(worker)
	if len(c) != 2 || str(c[0].Via) != string(vocab.ViaLink) || str(c[0].By) != "Carol" || !c[0].At.Equal(at) ||
		c[1].Status != "triggered" || c[1].Via != nil || c[1].By != nil || c[1].At.Equal(at) {
		t.Fatalf("worker's change, then a service's on the same connection: %+v", c)
	}

	// A rolled-back change records nothing and notifies nobody.
	tx, err = pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `update alerts set status = 'acknowledged' where id = $1`, worker); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx)
	if n := dbtest.Int64(t, pool, `select count(*) from followups where alert_id = $1`, worker); n != 2 {
		t.Fatalf("%d changes after a rollback, want 2", n)
	}
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if n, err := listener.WaitForNotification(wctx); err == nil {
		t.Fatalf("a rolled-back change notified %q", n.Payload)
	}
}
