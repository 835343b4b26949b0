package report

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// insertSQL never updates: a stored report is final, whoever wrote it and whatever changed since.
const insertSQL = `
insert into reports (tenant_id, kind, period_start, period_end, time_zone, generated_at, body, text)
values ($1, $2, $3, $4, $5, $6, $7, $8)
on conflict (tenant_id, kind, period_start) do nothing`

// insert stores the report of d and reports whether it did: false when one was already there
// (a replica or an earlier run wrote it first).
func insert(ctx context.Context, pool *pgxpool.Pool, d day, body *Body, text string) (bool, error) {
	js, err := json.Marshal(body)
	if err != nil {
		return false, fmt.Errorf("encode report: %w", err)
	}
	tag, err := pool.Exec(ctx, insertSQL, d.tenant.id, Kind, d.start, d.end, d.tenant.zone, body.GeneratedAt, string(js), text)
	if err != nil {
		return false, fmt.Errorf("insert report: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
