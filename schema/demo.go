package schema

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	opsql "github.com/opsworker/opsworker/sql"
)

// DemoWebhook is where the demo responders' webhooks go by default: the receiver service of
// compose's demo profile.
const DemoWebhook = "http://receiver:8090/"

// LoadDemo loads demo.sql: the demo tenant the first time, its responders' webhooks pointing at
// webhook (empty: DemoWebhook), and on every load one new triggered alert that escalates on the
// worker's next run. The database must be migrated.
func LoadDemo(ctx context.Context, pool *pgxpool.Pool, webhook string) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "select set_config('opsworker.demo_webhook', $1, false)", webhook); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	// Without arguments pgx sends the file with the simple protocol, which runs many statements.
	if _, err := conn.Exec(ctx, opsql.Demo); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	return nil
}
