package schema_test

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/schema"
)

// A migrated database is at this build's version, its floor recorded; a newer build's additive
// migration keeps the build runnable, a breaking one does not; Migrate leaves a database that is
// ahead alone instead of failing on versions it does not carry.
func TestStateAgainstNewerSchemas(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	s, err := schema.ReadState(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if s.Database != schema.Version() || s.Behind() || s.Ahead() || !s.Runnable() || s.RiverDatabase != s.RiverBuild {
		t.Fatalf("fresh database: %+v (%s)", s, s)
	}
	// Versions may have gaps (branches number their migrations ahead of a merge): count files.
	files, err := fs.Glob(schema.Migrations(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if n := dbtest.Int64(t, pool, `select count(*) from schema_compatibility`); n != int64(len(files)) {
		t.Fatalf("%d compatibility rows, want one per migration (%d)", n, len(files))
	}
	next := schema.Version() + 1
	dbtest.Exec(t, pool, `insert into goose_db_version (version_id, is_applied) values ($1, true)`, next)
	dbtest.Exec(t, pool, `insert into schema_compatibility (version, floor) values ($1, $2)`, next, schema.Version())
	if s, _ = schema.ReadState(ctx, pool); !s.Ahead() || !s.Runnable() {
		t.Fatalf("after an additive newer migration: %+v (%s)", s, s)
	}
	if _, err := schema.Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate a database that is ahead: %v", err)
	}
	dbtest.Exec(t, pool, `insert into goose_db_version (version_id, is_applied) values ($1, true)`, next+1)
	dbtest.Exec(t, pool, `insert into schema_compatibility (version, floor) values ($1, $1)`, next+1)
	s, _ = schema.ReadState(ctx, pool)
	if !s.Ahead() || s.Runnable() || s.Floor != next+1 {
		t.Fatalf("after a breaking newer migration: %+v", s)
	}
	want := fmt.Sprintf("database schema version %d is newer than this build's %d and not compatible with it", next+1, schema.Version())
	if !strings.HasPrefix(s.String(), want) {
		t.Errorf("message %q, want %q…", s, want)
	}
}

// A database never migrated is at 0 and behind.
func TestStateOfAnEmptyDatabase(t *testing.T) {
	pool := dbtest.NewPool(t, dbtest.NewEmptyURL(t))
	s, err := schema.ReadState(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	if s.Database != 0 || !s.Behind() || s.Runnable() {
		t.Fatalf("%+v", s)
	}
}
