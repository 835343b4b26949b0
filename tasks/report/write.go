package report

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/scheduler"
)

// insertSQL never updates: a stored report is final, whoever wrote it and whatever changed since.
// ON CONFLICT has no target, so a clash on either unique key is a no-op: (tenant_id, kind,
// period_date), the date already reported (by a replica, an earlier run, or under the tenant's
// previous zone), or the contract's (tenant_id, kind, period_start).
const insertSQL = `
insert into reports (tenant_id, kind, period_date, period_start, period_end, time_zone, generated_at, body, text)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
on conflict do nothing`

// insert stores the report of d and reports whether it did: false when one was already there
// (a replica or an earlier run wrote it first).
func insert(ctx context.Context, pool *pgxpool.Pool, d day, body *Body, text string) (bool, error) {
	js, err := json.Marshal(body)
	if err != nil {
		return false, fmt.Errorf("encode report: %w", err)
	}
	// Through the scheduler's fence: a run that has lost its job lock writes nothing.
	var wrote bool
	err = scheduler.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, insertSQL, d.tenant.id, Kind, d.date.pg(), d.start, d.end, d.tenant.zone, body.GeneratedAt, string(js), text)
		wrote = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("insert report: %w", err)
	}
	return wrote, nil
}

const dateReportedSQL = `select exists (select 1 from reports where tenant_id = $1 and kind = $2 and period_date = $3)`

// dateReported reports whether d's date has a report. After an insert that wrote nothing it tells
// the two keys apart: false means the clash was on period_start alone, with the report of another
// date. That happens only after the tenant's zone moved by 24 hours or more (Pacific/Kiritimati,
// UTC+14, to Pacific/Honolulu, UTC-10: Kiritimati's 05-10 and Honolulu's 05-09 start at the same
// instant), and the contract's key on period_start leaves that date without a report.
func dateReported(ctx context.Context, pool *pgxpool.Pool, d day) (bool, error) {
	var ok bool
	if err := pool.QueryRow(ctx, dateReportedSQL, d.tenant.id, Kind, d.date.pg()).Scan(&ok); err != nil {
		return false, fmt.Errorf("find report of the date: %w", err)
	}
	return ok, nil
}
