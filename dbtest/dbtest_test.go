package dbtest_test

import (
	"context"
	"testing"

	"github.com/opsworker/opsworker/dbtest"
)

func TestNewGivesMigratedIsolatedDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := dbtest.New(t), dbtest.New(t)
	if _, err := a.Exec(ctx, "insert into job_runs(job, started_at, status, instance, finished_at) values ('x', now(), 'succeeded', 'i', now())"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(ctx, "select count(*) from job_runs").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("second database sees %d rows of the first", n)
	}
	var da, db string
	a.QueryRow(ctx, "select current_database()").Scan(&da)
	b.QueryRow(ctx, "select current_database()").Scan(&db)
	if da == db {
		t.Fatalf("both pools on %s", da)
	}
}
