// Package sql holds opsworker's database schema: the goose migrations embedded in the binary,
// applied at start-up (MIGRATE=true) or by `opsworker migrate`, and the demo data.
//
// The migrations are the schema contract of DESIGN.md: other services of the platform read and
// write these tables, so a migration may add but never silently rename or drop.
package sql

import (
	"context"
	stdsql "database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the migration files, named NNNNN_what.sql, in goose's format.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the directory is embedded at build time; its absence is a build bug
	}
	return sub
}

// Result describes one applied migration.
type Result struct {
	Version int64
	Source  string
}

// Migrate applies every pending migration. Replicas that start together serialise on goose's
// PostgreSQL session advisory lock, so exactly one of them migrates and the others find nothing
// left to do.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]Result, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	return migrateDB(ctx, db)
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
