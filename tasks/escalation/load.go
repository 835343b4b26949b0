package escalation

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// load reads what the batch's plans need, with a fixed number of queries whatever the batch's
// size, all inside the batch's transaction, and decides each alert once on the way: first the
// policies (with their steps and targets) and tenants, which decide reads; then what those
// decisions need, as the planner names it (needsOf): the schedules their steps page that the run
// has not resolved yet (oncall.LoadMany, see resolveSchedules), and the pages the outbox already
// holds for their steps.
func load(ctx context.Context, tx pgx.Tx, alerts []dueAlert, now time.Time, resolved resolutions) ([]decision, *batchData, error) {
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
		return nil, nil, err
	}
	tenants, err := loadTenants(ctx, tx, tenantIDs)
	if err != nil {
		return nil, nil, err
	}
	data := &batchData{policies: policies, tenants: tenants}
	decisions := make([]decision, len(alerts))
	for i, a := range alerts {
		decisions[i] = decide(a, data)
	}
	need := needsOf(decisions)
	if data.onCall, err = resolveSchedules(ctx, tx, need.Schedules, now, resolved); err != nil {
		return nil, nil, err
	}
	if data.paged, err = loadPaged(ctx, tx, need); err != nil {
		return nil, nil, err
	}
	return decisions, data, nil
}

// pagedSQL returns the responders the outbox already has a page for at each (alert, pass, loop,
// step) given: one probe of the outbox's unique key per alert.
const pagedSQL = `
select n.alert_id, n.responder_id
from unnest($1::bigint[], $2::int[], $3::int[], $4::int[]) as u(alert_id, pass, loop, step)
join notifications n on n.alert_id = u.alert_id and n.escalation_pass = u.pass
                    and n.escalation_loop = u.loop and n.escalation_step = u.step`

// loadPaged reads the pages the outbox already holds for the steps need names, by alert. The
// alerts are locked by the claim, and only their escalation writes their pages, so what it reads
// stays true until the batch commits.
func loadPaged(ctx context.Context, tx pgx.Tx, need needs) (map[int64]map[int64]bool, error) {
	paged := map[int64]map[int64]bool{}
	if len(need.Steps.Alerts) == 0 {
		return paged, nil
	}
	s := need.Steps
	rows, err := tx.Query(ctx, pagedSQL, s.Alerts, s.Passes, s.Loops, s.Steps)
	if err != nil {
		return nil, fmt.Errorf("load pages already written: %w", err)
	}
	var alertID, responderID int64
	_, err = pgx.ForEachRow(rows, []any{&alertID, &responderID}, func() error {
		if paged[alertID] == nil {
			paged[alertID] = map[int64]bool{}
		}
		paged[alertID][responderID] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load pages already written: %w", err)
	}
	return paged, nil
}

// loadPolicies reads the policies ids name, with their steps in position order and each step's
// targets in the order they were added.
//
// A batch may name 500 policies: the queries match ids by joining on unnest($1), which
// PostgreSQL hashes, not by = any($1), which it scans linearly for every row of a table it reads
// whole, and they do not sort (Go sorts the few rows of each policy for less).
func loadPolicies(ctx context.Context, tx pgx.Tx, ids []int64) (map[int64]*policy, error) {
	policies := make(map[int64]*policy, len(ids))
	if len(ids) == 0 {
		return policies, nil
	}
	rows, err := tx.Query(ctx, `
		select p.id, p.tenant_id, p.repeat_count
		from escalation_policies p join unnest($1::bigint[]) u(id) on u.id = p.id`, ids)
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
		select s.policy_id, s.position, s.delay_minutes
		from escalation_steps s join unnest($1::bigint[]) u(id) on u.id = s.policy_id`, ids)
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
	for _, p := range policies {
		slices.SortFunc(p.Steps, func(a, b step) int { return cmp.Compare(a.Position, b.Position) })
	}

	// The responders are joined here, not loaded apart: a target whose responder is gone (the
	// foreign key cascades, but other services may bypass it) is seen as such.
	rows, err = tx.Query(ctx, `
		select t.id, t.policy_id, t.position, coalesce(t.responder_id, 0), coalesce(t.schedule_id, 0),
		       r.id is not null, coalesce(r.tenant_id, '')
		from escalation_step_targets t
		join unnest($1::bigint[]) u(id) on u.id = t.policy_id
		left join responders r on r.id = t.responder_id`, ids)
	if err != nil {
		return nil, fmt.Errorf("load step targets: %w", err)
	}
	// A target row, with what orders it: policy, position, then id (the order added).
	type row struct {
		id, policyID int64
		position     int32
		t            target
	}
	var (
		targets []row
		r       row
	)
	_, err = pgx.ForEachRow(rows, []any{&r.id, &r.policyID, &r.position, &r.t.ResponderID, &r.t.ScheduleID, &r.t.ResponderFound, &r.t.ResponderTenant}, func() error {
		targets = append(targets, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load step targets: %w", err)
	}
	slices.SortFunc(targets, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.policyID, b.policyID), cmp.Compare(a.position, b.position), cmp.Compare(a.id, b.id))
	})
	for _, r := range targets {
		if s := findStep(policies[r.policyID], r.position); s != nil {
			s.Targets = append(s.Targets, r.t)
		}
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
	rows, err := tx.Query(ctx, `select t.id from tenants t join unnest($1::text[]) u(id) on u.id = t.id`, ids)
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
