package escalation_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/tasks/escalation"
)

// The claim and the ack timeout pass pass their statuses as parameters (one vocabulary), and the
// indexes that serve them are partial on a status (alerts_due_idx: status = 'triggered';
// alerts_acknowledged_idx: status = 'acknowledged'), which only a plan made knowing the value can
// use. Every claim and every ack pass of real runs, logged with their plans by auto_explain, must
// read its index: over more than five runs on one connection, after which PostgreSQL may give a
// prepared statement a generic plan. Sequential scans are off in the task's session, so the
// index wins whenever the plan can use it, whatever the (small) table's size.
func TestClaimAndAckPassUseTheirPartialIndexes(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)
	p := tm.policy(tm.tenantID, 9)
	tm.step(p, 0, 1, responderT(tm.a))
	tm.exec(`update escalation_policies set ack_timeout_minutes = 60`)
	for range 3 {
		tm.alert(tm.tenantID, p, t0)
	}
	tm.exec(`insert into alerts (tenant_id, source, summary, escalation_policy_id, status, acknowledged_at, created_at, next_escalation_at)
	         select $1, 'test', 'acknowledged', $2, 'acknowledged', $3, $3, null from generate_series(1, 50)`, tm.tenantID, p, t0)
	tm.exec(`analyze`)

	var mu sync.Mutex
	var plans []string
	cfg := tm.pool.Config()
	cfg.MaxConns = 1 // every statement on one connection, so each is executed many times there
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		defer mu.Unlock()
		plans = append(plans, n.Message)
	}
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `load 'auto_explain'; set auto_explain.log_min_duration = 0;
		                          set client_min_messages = log; set enable_seqscan = off`)
		return err
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.Ping(tm.ctx); err != nil {
		t.Skipf("auto_explain is not available: %v", err)
	}
	task := escalation.New(pool, escalation.Options{BatchSize: 1, Workers: 1})
	for i := range 8 {
		s := tm.run(task, t0.Add(minutes(i)))
		wantSummary(t, s, map[string]int{"alerts_escalated": 3})
	}

	mu.Lock()
	defer mu.Unlock()
	claims, acks := 0, 0
	for _, plan := range plans {
		switch {
		case strings.Contains(plan, strings.TrimSpace(escalation.ClaimSQL)):
			claims++
			if !strings.Contains(plan, "alerts_due_idx") {
				t.Fatalf("claim %d does not read alerts_due_idx:\n%s", claims, plan)
			}
		case strings.Contains(plan, strings.TrimSpace(escalation.AckTimeoutSQL)):
			acks++
			if !strings.Contains(plan, "alerts_acknowledged_idx") {
				t.Fatalf("ack timeout pass %d does not read alerts_acknowledged_idx:\n%s", acks, plan)
			}
		}
	}
	if claims != 8*4 || acks != 8 { // batches of one: three alerts, then the claim that finds none
		t.Fatalf("%d claims and %d ack passes logged, want 32 and 8", claims, acks)
	}
}
