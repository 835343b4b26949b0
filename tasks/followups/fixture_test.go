package followups_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/followups"
)

// t0 is when the fixture's alerts were paged.
var t0 = time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)

// fixture is a database with tenant acme and a delivery queue to queue follow-ups on.
type fixture struct {
	t    testing.TB
	ctx  context.Context
	pool *pgxpool.Pool
	enq  *delivery.Enqueuer
}

func newFixture(t testing.TB) *fixture {
	pool := dbtest.New(t)
	client, err := delivery.NewClient(pool, delivery.ClientOptions{MaxAttempts: 10, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, pool: pool, enq: delivery.NewEnqueuer(client, 10),
		ctx: scheduler.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(io.Discard, nil)))}
	f.exec(`insert into tenants (id, name, webhook_secret) values ('acme', 'Acme', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')`)
	return f
}

func (f *fixture) task(o followups.Options) *followups.Task {
	o.Deliveries = f.enq
	return followups.New(f.pool, o)
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	dbtest.Exec(f.t, f.pool, sql, args...)
}

func (f *fixture) id(sql string, args ...any) int64 {
	f.t.Helper()
	return dbtest.Int64(f.t, f.pool, sql, args...)
}

func (f *fixture) responder(name string) int64 {
	f.t.Helper()
	return f.id(`insert into responders (tenant_id, name) values ('acme', $1) returning id`, name)
}

// method adds a contact method of responder.
func (f *fixture) method(responder int64, kind, address string, statusUpdates bool) int64 {
	f.t.Helper()
	return f.id(`insert into contact_methods (tenant_id, responder_id, kind, address, status_updates) values ('acme', $1, $2, $3, $4) returning id`,
		responder, kind, address, statusUpdates)
}

// alert inserts a triggered alert.
func (f *fixture) alert(summary string) int64 {
	f.t.Helper()
	return f.id(`insert into alerts (tenant_id, source, summary, created_at) values ('acme', 'nagios', $1, $2) returning id`, summary, t0.Add(-time.Minute))
}

// page records a page of alert to responder at step, and its delivery to each of methods with
// status (as delivery leaves it).
func (f *fixture) page(alert, responder int64, step int, status string, methods ...int64) {
	f.t.Helper()
	n := f.id(`insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status, created_at)
	           values ('acme', $1, $2, 'escalation', 0, $3, 'sent', $4) returning id`, alert, responder, step, t0)
	for _, m := range methods {
		f.exec(`insert into deliveries (tenant_id, notification_id, contact_method_id, kind, status, finished_at)
		        select 'acme', $1, id, kind, $3, case when $3 <> 'pending' then $4::timestamptz end from contact_methods where id = $2`,
			n, m, status, t0)
	}
}

// run runs task at now, failing the test if it fails.
func (f *fixture) run(task *followups.Task, now time.Time) scheduler.Summary {
	f.t.Helper()
	s, err := task.Run(f.ctx, now)
	if err != nil {
		f.t.Fatalf("run: %v", err)
	}
	return s
}

// message is a queued follow-up: its delivery and content.
type message struct {
	DeliveryID    int64
	SourceID      int64
	ContactMethod int64
	Kind          string
	Body          delivery.Followup
}

// messages lists the queued follow-ups of alert, by contact method then change.
func (f *fixture) messages(alert int64) []message {
	f.t.Helper()
	rows, err := f.pool.Query(context.Background(), `
select d.id, d.source_id, d.contact_method_id, d.kind, d.payload
from deliveries d join followups u on u.id = d.source_id
where d.message = 'followup' and u.alert_id = $1
order by d.source_id, d.contact_method_id`, alert)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (message, error) {
		var m message
		var payload []byte
		err := r.Scan(&m.DeliveryID, &m.SourceID, &m.ContactMethod, &m.Kind, &payload)
		if err == nil {
			err = json.Unmarshal(payload, &m.Body)
		}
		return m, err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}
