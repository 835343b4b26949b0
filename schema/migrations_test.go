package schema_test

import (
	"context"
	stdsql "database/sql"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/schema"
	opsql "github.com/opsworker/opsworker/sql"
)

// exec runs stmt on pool, failing t on an error.
func exec(t *testing.T, pool *pgxpool.Pool, stmt string, args ...any) {
	t.Helper()
	dbtest.Exec(t, pool, stmt, args...)
}

// Finding 4 (issue 14): deleting a responder who has an ended override, or whom an override
// stands in for, succeeds; the overrides go with them, as step targets do.
func TestDeleteResponderWithEndedOverride(t *testing.T) {
	pool := dbtest.New(t)
	exec(t, pool, `insert into tenants (id, name) values ('t1', 't1')`)
	a := dbtest.Int64(t, pool, `insert into responders (tenant_id, name) values ('t1', 'a') returning id`)
	b := dbtest.Int64(t, pool, `insert into responders (tenant_id, name) values ('t1', 'b') returning id`)
	c := dbtest.Int64(t, pool, `insert into responders (tenant_id, name) values ('t1', 'c') returning id`)
	s := dbtest.Int64(t, pool, `insert into oncall_schedules (tenant_id, name) values ('t1', 's') returning id`)
	exec(t, pool, `insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at) values
	               ($1, $2, null, '2027-05-01T00:00Z', '2027-05-02T00:00Z'),
	               ($1, $3, $4, '2027-05-03T00:00Z', '2027-05-04T00:00Z')`, s, b, a, c)
	for _, r := range []int64{b, c} { // the override's responder; the one an override stands in for
		if _, err := pool.Exec(context.Background(), `delete from responders where id = $1`, r); err != nil {
			t.Fatalf("delete responder %d: %v", r, err)
		}
	}
	if n := dbtest.Int64(t, pool, `select count(*) from oncall_overrides`); n != 0 {
		t.Fatalf("%d overrides left naming deleted responders", n)
	}
}

// Migration 00006 on a database holding rows written under 00001-00004, bad ones included: it
// applies, keeps what the rows meant, and holds only new rows to the new rules.
func TestMigration00006KeepsExistingRows(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewEmptyURL(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	upTo(t, db, 4)

	exec(t, pool, `insert into tenants (id, name) values ('t1', 't1')`)
	r := dbtest.Int64(t, pool, `insert into responders (tenant_id, name) values ('t1', 'r') returning id`)
	s := dbtest.Int64(t, pool, `insert into oncall_schedules (tenant_id, name) values ('t1', 's') returning id`)
	exec(t, pool, `insert into oncall_overrides (schedule_id, responder_id, starts_at, ends_at) values ($1, $2, '2027-05-01T00:00Z', '2027-05-02T00:00Z')`, s, r)
	p := dbtest.Int64(t, pool, `insert into escalation_policies (tenant_id, name) values ('t1', 'p') returning id`)
	exec(t, pool, `insert into escalation_steps (policy_id, position, delay_minutes) values ($1, 0, 200000000)`, p) // "never"
	escalated := dbtest.Int64(t, pool, `insert into alerts (tenant_id, source, summary, escalation_policy_id, escalation_step)
	                                      values ('t1', 's', 's', $1, 0) returning id`, p)
	rewound := dbtest.Int64(t, pool, `insert into alerts (tenant_id, source, summary, escalation_policy_id, escalation_loop, last_escalated_at)
	                                    values ('t1', 's', 's', $1, 1, now()) returning id`, p)
	exec(t, pool, `insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step)
	               values ('t1', $1, $2, 'escalation', 0, 0)`, escalated, r)

	if _, err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate over existing rows: %v", err)
	}

	// The bad delay is still there, for the worker to report; a new one is refused.
	if n := dbtest.Int64(t, pool, `select count(*) from escalation_steps where delay_minutes = 200000000`); n != 1 {
		t.Fatalf("%d bad steps kept", n)
	}
	_, err = pool.Exec(ctx, `insert into escalation_steps (policy_id, position, delay_minutes) values ($1, 1, 525601)`, p)
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "23514" {
		t.Fatalf("a delay above a year: %v, want a check violation", err)
	}
	exec(t, pool, `insert into escalation_steps (policy_id, position, delay_minutes) values ($1, 1, 525600)`, p)

	// Old tenants keep an unknown age; new ones get their insert's time.
	exec(t, pool, `insert into tenants (id, name) values ('t2', 't2')`)
	var old, fresh *time.Time
	if err := pool.QueryRow(ctx, `select (select created_at from tenants where id = 't1'), (select created_at from tenants where id = 't2')`).
		Scan(&old, &fresh); err != nil {
		t.Fatal(err)
	}
	if old != nil || fresh == nil {
		t.Fatalf("created_at: old tenant %v, new tenant %v", old, fresh)
	}

	// Alerts keep their position: the escalated one refers to its policy (no restart), the one an
	// ack timeout had rewound has nothing to restart; all are in pass 0, as are their pages.
	var policy1, policy2 *int64
	if err := pool.QueryRow(ctx, `select (select escalated_policy_id from alerts where id = $1), (select escalated_policy_id from alerts where id = $2)`,
		escalated, rewound).Scan(&policy1, &policy2); err != nil {
		t.Fatal(err)
	}
	if policy1 == nil || *policy1 != p || policy2 != nil {
		t.Fatalf("escalated_policy_id: %v, %v", policy1, policy2)
	}
	if n := dbtest.Int64(t, pool, `select count(*) from alerts where escalation_pass <> 0 or escalation_rewound`); n != 0 {
		t.Fatalf("%d alerts moved", n)
	}
	// The outbox's key has the pass: the same page in another pass is a new page.
	exec(t, pool, `insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_pass, escalation_loop, escalation_step)
	               values ('t1', $1, $2, 'escalation', 1, 0, 0)`, escalated, r)
	_, err = pool.Exec(ctx, `insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_pass, escalation_loop, escalation_step)
	                         values ('t1', $1, $2, 'escalation', 0, 0, 0)`, escalated, r)
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("the same page twice in a pass: %v, want a unique violation", err)
	}

	// The responder with an ended override can be deleted (step targets and overrides go too).
	exec(t, pool, `delete from responders where id = $1`, r)

	// And back down, then up again.
	p6, err := goose.NewProvider(goose.DialectPostgres, db, opsql.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p6.DownTo(ctx, 4); err != nil {
		t.Fatalf("down: %v", err)
	}
	if _, err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

// upTo applies the migrations up to version v.
func upTo(t *testing.T, db *stdsql.DB, v int64) {
	t.Helper()
	p, err := goose.NewProvider(goose.DialectPostgres, db, opsql.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), v); err != nil {
		t.Fatalf("migrate up to %d: %v", v, err)
	}
}
