package escalation

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/vocab"
)

// planMode runs a statement whose partial index only matches with the values known: each
// execution sends an unnamed statement, which PostgreSQL plans with the parameters' values (a
// custom plan, every time), and the statement's description is cached, so it still takes one
// round trip. (pgx's default, a named prepared statement, may be given a generic plan after five
// executions, made without the values.)
const planMode = pgx.QueryExecModeCacheDescribe

// claimSQL takes the oldest due alerts and locks them for the batch's transaction. SKIP LOCKED
// lets a second replica take the next alerts instead of waiting for these; and when a row it
// reaches was escalated and committed meanwhile, PostgreSQL re-checks the WHERE clause on the
// new version, whose next_escalation_at is now in the future, and leaves it out. So no two runs
// escalate the same alert at the same step. alerts_due_idx serves the WHERE and the ORDER BY,
// so the cost is that of the due alerts only.
//
// The status is a parameter ($3, vocab.AlertTriggered), and alerts_due_idx is partial (where
// status = 'triggered'): only a plan made knowing the value can use the index. claim therefore
// runs it as an unnamed statement (planMode), planned with its values at every execution, never
// as a prepared statement's generic plan, which PostgreSQL may switch to after five executions
// and which would read every triggered alert to find the due ones.
const claimSQL = `
select id, tenant_id, escalation_policy_id, escalation_step, escalation_loop, escalation_pass,
       escalated_policy_id, escalation_rewound, next_escalation_at
from alerts
where status = $3 and next_escalation_at <= $1
order by next_escalation_at, id
limit $2
for update skip locked`

// claim returns up to limit due alerts at now, locked until tx ends, and when the first of them
// was due (zero: none is due): in claim order, the run's first claim finds the oldest due alert,
// which is what the escalation lag gauge reports, at no extra cost.
func claim(ctx context.Context, tx pgx.Tx, now time.Time, limit int) ([]dueAlert, time.Time, error) {
	rows, err := tx.Query(ctx, claimSQL, planMode, now, limit, vocab.AlertTriggered)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim due alerts: %w", err)
	}
	var first, due time.Time
	alerts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (dueAlert, error) {
		var a dueAlert
		err := row.Scan(&a.ID, &a.TenantID, &a.PolicyID, &a.Step, &a.Loop, &a.Pass, &a.EscalatedPolicyID, &a.Rewound, &due)
		if first.IsZero() {
			first = due
		}
		return a, err
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim due alerts: %w", err)
	}
	return alerts, first, nil
}
