package delivery_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/vocab"
)

// Messages that are not pages are queued once per message and recipient, whoever queues them
// again (a rerun, a replica), each with its River job; a disabled or foreign recipient is
// skipped; a message without its content, or without exactly one recipient, is refused.
func TestEnqueueMessagesOnce(t *testing.T) {
	f := newFixture(t)
	f.responder("acme", "Ann", "webhook", "https://hooks.example.com/ann", "slack", "https://hooks.slack.com/services/T1/B1/x")
	off := f.responder("acme", "Off", "email", "off@example.com")
	dbtest.Exec(t, f.pool, `update contact_methods set enabled = false where responder_id = $1`, off)
	sched := dbtest.Int64(t, f.pool, `insert into oncall_schedules (tenant_id, name) values ('acme', 'Primary') returning id`)
	sub := dbtest.Int64(t, f.pool, `insert into schedule_subscriptions (tenant_id, schedule_id, kind, address)
		values ('acme', $1, 'slack', 'https://hooks.slack.com/services/T1/B2/y') returning id`, sched)
	rows, _ := f.pool.Query(f.ctx, `select id from contact_methods order by id`)
	methods, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	enq := delivery.NewEnqueuer(f.insertOnly(), 10)
	followup := &delivery.Followup{Type: "alert.acknowledged", Via: "service", At: t0}
	notice := &delivery.Notice{Type: "oncall.changed", Schedule: delivery.ScheduleNotice{ID: sched, Name: "Primary", TimeZone: "UTC"}, At: t0}
	msgs := []delivery.Message{
		{Kind: vocab.MessageFollowup, TenantID: "acme", SourceID: 1, ContactMethodID: methods[0], Followup: followup},
		{Kind: vocab.MessageFollowup, TenantID: "acme", SourceID: 1, ContactMethodID: methods[1], Followup: followup},
		{Kind: vocab.MessageFollowup, TenantID: "acme", SourceID: 1, ContactMethodID: methods[2], Followup: followup},  // disabled
		{Kind: vocab.MessageFollowup, TenantID: "other", SourceID: 1, ContactMethodID: methods[0], Followup: followup}, // foreign
		{Kind: vocab.MessageNotice, TenantID: "acme", SourceID: 7, SubscriptionID: sub, Notice: notice},
	}
	for round := range 2 {
		var n int
		err := pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) (err error) {
			n, err = enq.EnqueueMessages(f.ctx, tx, msgs)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{3, 0}[round]; n != want {
			t.Errorf("round %d: %d queued, want %d", round, n, want)
		}
	}
	if got := dbtest.Int64(t, f.pool, `select count(*) from deliveries where message = 'followup' and kind in ('webhook', 'slack')`); got != 2 {
		t.Errorf("%d follow-up deliveries", got)
	}
	if got := dbtest.Int64(t, f.pool, `select count(*) from deliveries where message = 'notice' and subscription_id = $1 and payload->>'type' = 'oncall.changed'`, sub); got != 1 {
		t.Errorf("%d notice deliveries", got)
	}
	if got := dbtest.Int64(t, f.pool, `select count(*) from river_job where queue = 'delivery'`); got != 3 {
		t.Errorf("%d River jobs", got)
	}
	for _, bad := range []delivery.Message{
		{Kind: vocab.MessageFollowup, TenantID: "acme", SourceID: 2, ContactMethodID: methods[0]},
		{Kind: vocab.MessageNotice, TenantID: "acme", SourceID: 2, ContactMethodID: methods[0], SubscriptionID: sub, Notice: notice},
	} {
		err := pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) error {
			_, err := enq.EnqueueMessages(f.ctx, tx, []delivery.Message{bad})
			return err
		})
		if err == nil {
			t.Errorf("%+v was queued", bad)
		}
	}
}
