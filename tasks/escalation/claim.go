package escalation

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// claimSQL takes the oldest due alerts and locks them for the batch's transaction. SKIP LOCKED
// lets a second replica take the next alerts instead of waiting for these; and when a row it
// reaches was escalated and committed meanwhile, PostgreSQL re-checks the WHERE clause on the
// new version, whose next_escalation_at is now in the future, and leaves it out. So no two runs
// escalate the same alert at the same step. alerts_due_idx serves the WHERE and the ORDER BY,
// so the cost is that of the due alerts only.
const claimSQL = `
select id, tenant_id, escalation_policy_id, escalation_step, escalation_loop, escalation_pass,
       escalated_policy_id, escalation_rewound, next_escalation_at
from alerts
where status = 'triggered' and next_escalation_at <= $1
order by next_escalation_at, id
limit $2
for update skip locked`

// claim returns up to limit due alerts at now, locked until tx ends. When *oldest is zero it
// sets it to the first alert's next_escalation_at: in claim order, the run's first claim finds
// the oldest due alert, which is what the escalation lag gauge reports, at no extra cost.
func claim(ctx context.Context, tx pgx.Tx, now time.Time, limit int, oldest *time.Time) ([]dueAlert, error) {
	rows, err := tx.Query(ctx, claimSQL, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim due alerts: %w", err)
	}
	alerts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (dueAlert, error) {
		var a dueAlert
		var due time.Time
		err := row.Scan(&a.ID, &a.TenantID, &a.PolicyID, &a.Step, &a.Loop, &a.Pass, &a.EscalatedPolicyID, &a.Rewound, &due)
		if err == nil && oldest.IsZero() {
			*oldest = due
		}
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim due alerts: %w", err)
	}
	return alerts, nil
}
