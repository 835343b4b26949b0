package sql

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed demo.sql
var demo string

// LoadDemo loads demo.sql: the demo tenant the first time, and on every load one new triggered
// alert that escalates on the worker's next run. The database must be migrated.
func LoadDemo(ctx context.Context, pool *pgxpool.Pool) error {
	// Without arguments pgx sends the file with the simple protocol, which runs many statements.
	if _, err := pool.Exec(ctx, demo); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	return nil
}
