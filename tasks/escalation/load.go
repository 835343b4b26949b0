package escalation

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// load reads what the batch's decisions need, with a fixed number of queries whatever the
// batch's size: policies, steps, targets (with their responders), tenants, and the schedules
// the batch pages (oncall.LoadMany), all inside the batch's transaction.
func load(ctx context.Context, tx pgx.Tx, alerts []dueAlert, now time.Time) (*batchData, error) {
	var policyIDs []int64
	var tenantIDs []string
	seenPolicy, seenTenant := map[int64]bool{}, map[string]bool{}
	for _, a := range alerts {
		if a.PolicyID != nil && !seenPolicy[*a.PolicyID] {
			seenPolicy[*a.PolicyID] = true
			policyIDs = append(policyIDs, *a.PolicyID)
		}
		if !seenTenant[a.TenantID] {
			seenTenant[a.TenantID] = true
			tenantIDs = append(tenantIDs, a.TenantID)
		}
	}
	policies, err := loadPolicies(ctx, tx, policyIDs)
	if err != nil {
		return nil, err
	}
	tenants, err := loadTenants(ctx, tx, tenantIDs)
	if err != nil {
		return nil, err
	}
	data := &batchData{policies: policies, tenants: tenants}
	data.onCall, err = resolveSchedules(ctx, tx, schedulesNeeded(alerts, data), now)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// loadPolicies reads the policies ids name, with their steps in position order and each step's
// targets in the order they were added.
func loadPolicies(ctx context.Context, tx pgx.Tx, ids []int64) (map[int64]*policy, error) {
	policies := make(map[int64]*policy, len(ids))
	if len(ids) == 0 {
		return policies, nil
	}
	rows, err := tx.Query(ctx, `select id, tenant_id, repeat_count from escalation_policies where id = any($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	var p policy
	_, err = pgx.ForEachRow(rows, []any{&p.ID, &p.TenantID, &p.RepeatCount}, func() error {
		cp := p
		policies[p.ID] = &cp
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}

	rows, err = tx.Query(ctx, `
		select policy_id, position, delay_minutes from escalation_steps
		where policy_id = any($1) order by policy_id, position`, ids)
	if err != nil {
		return nil, fmt.Errorf("load policy steps: %w", err)
	}
	var policyID int64
	var s step
	_, err = pgx.ForEachRow(rows, []any{&policyID, &s.Position, &s.DelayMinutes}, func() error {
		if p := policies[policyID]; p != nil {
			p.Steps = append(p.Steps, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load policy steps: %w", err)
	}

	// The responders are joined here, not loaded apart: a target whose responder is gone (the
	// foreign key cascades, but other services may bypass it) is seen as such.
	rows, err = tx.Query(ctx, `
		select t.policy_id, t.position, coalesce(t.responder_id, 0), coalesce(t.schedule_id, 0),
		       r.id is not null, coalesce(r.tenant_id, '')
		from escalation_step_targets t
		left join responders r on r.id = t.responder_id
		where t.policy_id = any($1)
		order by t.policy_id, t.position, t.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("load step targets: %w", err)
	}
	var position int32
	var t target
	_, err = pgx.ForEachRow(rows, []any{&policyID, &position, &t.ResponderID, &t.ScheduleID, &t.ResponderFound, &t.ResponderTenant}, func() error {
		if s := findStep(policies[policyID], position); s != nil {
			s.Targets = append(s.Targets, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load step targets: %w", err)
	}
	return policies, nil
}

func findStep(p *policy, position int32) *step {
	if p == nil {
		return nil
	}
	for i := range p.Steps {
		if p.Steps[i].Position == position {
			return &p.Steps[i]
		}
	}
	return nil
}

// loadTenants returns which of ids exist in tenants.
func loadTenants(ctx context.Context, tx pgx.Tx, ids []string) (map[string]bool, error) {
	known := make(map[string]bool, len(ids))
	rows, err := tx.Query(ctx, `select id from tenants where id = any($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("load tenants: %w", err)
	}
	var id string
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
		known[id] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load tenants: %w", err)
	}
	return known, nil
}
