// Package schema applies opsworker's database schema (the files of package sql): the goose
// migrations at start-up (MIGRATE=true) or by `opsworker migrate`, River's own migrations after
// them, and the demo data.
package schema

import (
	"context"
	"crypto/sha256"
	stdsql "database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	opsql "github.com/opsworker/opsworker/sql"
)

// Migrations returns the migration files, named NNNNN_what.sql, in goose's format.
func Migrations() fs.FS { return opsql.Migrations() }

// Result describes one applied migration.
type Result struct {
	Version int64
	Source  string
}

// migrateLock is the session advisory lock (single-key form) taken around both migrators.
const migrateLock = 0x6f707377_6d696772 // "opswmigr"

// Migrate applies every pending migration: opsworker's (goose) and then River's (its migrator;
// the delivery queue's tables). Replicas that start together serialise on one PostgreSQL session
// advisory lock held around both, so exactly one of them migrates and the others find nothing
// left to do.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]Result, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", int64(migrateLock)); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "select pg_advisory_unlock($1)", int64(migrateLock)); err != nil {
			_ = conn.Conn().Close(ctx) // the lock goes with the session
		}
	}()
	state, err := ReadState(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if state.Ahead() {
		// A newer build migrated it: nothing here is newer, and goose would refuse versions it
		// does not carry. Whether this build may run on it is the guard's question (State).
		return nil, nil
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	out, err := migrateDB(ctx, db)
	if err != nil {
		return nil, err
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return nil, fmt.Errorf("migrate river: %w", err)
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate river: %w", err)
	}
	for _, v := range res.Versions {
		out = append(out, Result{Version: int64(v.Version), Source: "river/" + v.Name})
	}
	if err := recordCompatibility(ctx, pool); err != nil {
		return nil, err
	}
	return out, nil
}

// RiverVersion is the latest River migration this build applies: part of what makes a migrated
// database (dbtest's template hashes it).
func RiverVersion() int {
	migrator, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		panic(err) // River's embedded migrations do not load: a build bug
	}
	all := migrator.AllVersions()
	return all[len(all)-1].Version
}

// Fingerprint names the schema this build applies: a hash of the migration files and River's
// latest migration, for caching migrated template databases (package dbtest).
func Fingerprint() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Migrations(), path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	fmt.Fprintf(h, "river\x00%d", RiverVersion())
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

func migrateDB(ctx context.Context, db *stdsql.DB) ([]Result, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(), goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	applied, err := provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	out := make([]Result, 0, len(applied))
	for _, r := range applied {
		out = append(out, Result{Version: r.Source.Version, Source: r.Source.Path})
	}
	return out, nil
}
