package escalation_test

import (
	"testing"
	"time"

	"github.com/opsworker/opsworker/tasks/escalation"
)

// Steps and targets are taken in their order (position; targets in the order they were added,
// which is their ids'), not in the order PostgreSQL happens to return their rows.
func TestStepsAndTargetsInOrder(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	p := tm.policy(tm.tenantID, 0)
	tm.exec(`insert into escalation_steps (policy_id, position, delay_minutes) values ($1, 1, 5), ($1, 0, 5)`, p)
	// Stored (and indexed, for equal keys) in the order d, b, c, a; added in the order c, d, b.
	tm.exec(`insert into escalation_step_targets (id, policy_id, position, responder_id) overriding system value
	         values (1002, $1, 0, $2), (1003, $1, 0, $3), (1001, $1, 0, $4), (1000, $1, 1, $5)`, p, tm.d, tm.b, tm.c, tm.a)
	alert := tm.alert(tm.tenantID, p, t0)
	task := escalation.New(tm.pool, escalation.Options{})

	tm.run(task, t0)
	wantPages(t, tm.pages(alert), notification{Responder: tm.c}, notification{Responder: tm.d}, notification{Responder: tm.b})
	tm.run(task, t0.Add(5*time.Minute))
	wantPages(t, tm.pages(alert), notification{Responder: tm.c}, notification{Responder: tm.d}, notification{Responder: tm.b},
		notification{Responder: tm.a, Step: 1})
}
