package escalation

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// runCache is what a run has loaded, at its now, for its batches, shared by its workers: every
// batch escalates at the same now, so a policy, a tenant or a schedule read by one batch serves
// the run's later batches. A backlog of 10,000 alerts of 500 tenants is 20 batches that would
// otherwise each read the same 500 policies and schedules again. A change made to them during a
// run applies from the next run, as one made during a batch applies from the next batch.
type runCache struct {
	mu       sync.Mutex
	policies map[int64]*policy // nil: read, and not found
	tenants  map[string]bool   // false: read, and not found
	onCall   resolutions
}

func newRunCache() *runCache {
	return &runCache{policies: map[int64]*policy{}, tenants: map[string]bool{}, onCall: resolutions{}}
}

// load reads what the batch's plans need that the run has not loaded yet, all inside the batch's
// transaction, and decides each alert once on the way: first the policies (with their steps and
// targets) and tenants, which decide reads; then what those decisions need, as the planner names
// it (needsOf): the schedules their steps page (oncall.LoadMany, see resolveSchedules), and the
// pages the outbox already holds for their steps. A batch whose policies, tenants and schedules
// the run has seen costs one round trip of loading (the pages); the run's first batches add one
// for the policies and tenants and oncall.LoadMany's for the schedules.
//
// The run's cache is held while the batch reads from it and adds to it, so that a worker
// waits for what another is loading rather than loading it again (those reads take no row lock,
// so they never wait for another worker's batch).
func load(ctx context.Context, tx pgx.Tx, alerts []dueAlert, now time.Time, cache *runCache) ([]decision, *batchData, error) {
	decisions, data, need, err := loadCached(ctx, tx, alerts, now, cache)
	if err != nil {
		return nil, nil, err
	}
	if data.paged, err = loadPaged(ctx, tx, need); err != nil {
		return nil, nil, err
	}
	return decisions, data, nil
}

// loadCached is load but for the pages, with the run's cache held.
func loadCached(ctx context.Context, tx pgx.Tx, alerts []dueAlert, now time.Time, cache *runCache) ([]decision, *batchData, needs, error) {
	cache.mu.Lock()
	defer cache.mu.Unlock()
	var policyIDs []int64
	var tenantIDs []string
	data := &batchData{policies: map[int64]*policy{}, tenants: map[string]bool{}, onCall: map[int64]onCall{}}
	for _, a := range alerts {
		if id := a.PolicyID; id != nil {
			if _, seen := data.policies[*id]; !seen {
				p, ok := cache.policies[*id]
				data.policies[*id] = p
				if !ok {
					policyIDs = append(policyIDs, *id)
				}
			}
		}
		if _, seen := data.tenants[a.TenantID]; !seen {
			known, ok := cache.tenants[a.TenantID]
			data.tenants[a.TenantID] = known
			if !ok {
				tenantIDs = append(tenantIDs, a.TenantID)
			}
		}
	}
	if err := loadPoliciesAndTenants(ctx, tx, policyIDs, tenantIDs, cache); err != nil {
		return nil, nil, needs{}, err
	}
	for _, id := range policyIDs {
		data.policies[id] = cache.policies[id]
	}
	for _, id := range tenantIDs {
		data.tenants[id] = cache.tenants[id]
	}
	decisions := make([]decision, len(alerts))
	for i, a := range alerts {
		decisions[i] = decide(a, data)
	}
	need := needsOf(decisions)
	if _, err := resolveSchedules(ctx, tx, need.Schedules, now, cache.onCall); err != nil {
		return nil, nil, needs{}, err
	}
	for _, id := range need.Schedules {
		data.onCall[id] = cache.onCall[id]
	}
	return decisions, data, need, nil
}

// The statements loadPoliciesAndTenants sends together, in one round trip.
//
// A batch may name 500 policies: the queries match ids by joining on unnest($1), which
// PostgreSQL hashes, not by = any($1), which it scans linearly for every row of a table it reads
// whole, and they do not sort (Go sorts the few rows of each policy for less).
const (
	policiesSQL = `
select p.id, p.tenant_id, p.repeat_count
from escalation_policies p join unnest($1::bigint[]) u(id) on u.id = p.id`

	stepsSQL = `
select s.policy_id, s.position, s.delay_minutes
from escalation_steps s join unnest($1::bigint[]) u(id) on u.id = s.policy_id`

	// The responders are joined here, not loaded apart: a target whose responder is gone (the
	// foreign key cascades, but other services may bypass it) is seen as such.
	targetsSQL = `
select t.id, t.policy_id, t.position, coalesce(t.responder_id, 0), coalesce(t.schedule_id, 0),
       r.id is not null, coalesce(r.tenant_id, '')
from escalation_step_targets t
join unnest($1::bigint[]) u(id) on u.id = t.policy_id
left join responders r on r.id = t.responder_id`

	tenantsSQL = `select t.id from tenants t join unnest($1::text[]) u(id) on u.id = t.id`
)

// loadPoliciesAndTenants adds to cache the policies policyIDs name, with their steps in position
// order and each step's targets in the order they were added (a policy that does not exist as
// nil), and which of tenantIDs exist: four queries, sent together.
func loadPoliciesAndTenants(ctx context.Context, tx pgx.Tx, policyIDs []int64, tenantIDs []string, cache *runCache) error {
	if len(policyIDs) == 0 && len(tenantIDs) == 0 {
		return nil
	}
	var b pgx.Batch
	policies := make(map[int64]*policy, len(policyIDs))
	var p policy
	b.Queue(policiesSQL, policyIDs).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&p.ID, &p.TenantID, &p.RepeatCount}, func() error {
			cp := p
			policies[p.ID] = &cp
			return nil
		})
		return wrap("load policies", err)
	})
	var policyID int64
	var s step
	b.Queue(stepsSQL, policyIDs).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&policyID, &s.Position, &s.DelayMinutes}, func() error {
			if p := policies[policyID]; p != nil {
				p.Steps = append(p.Steps, s)
			}
			return nil
		})
		return wrap("load policy steps", err)
	})
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
	b.Queue(targetsSQL, policyIDs).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&r.id, &r.policyID, &r.position, &r.t.ResponderID, &r.t.ScheduleID, &r.t.ResponderFound, &r.t.ResponderTenant}, func() error {
			targets = append(targets, r)
			return nil
		})
		return wrap("load step targets", err)
	})
	var tenant string
	b.Queue(tenantsSQL, tenantIDs).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&tenant}, func() error {
			cache.tenants[tenant] = true
			return nil
		})
		return wrap("load tenants", err)
	})
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return err
	}

	for _, p := range policies {
		slices.SortFunc(p.Steps, func(a, b step) int { return cmp.Compare(a.Position, b.Position) })
	}
	slices.SortFunc(targets, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.policyID, b.policyID), cmp.Compare(a.position, b.position), cmp.Compare(a.id, b.id))
	})
	for _, r := range targets {
		if s := findStep(policies[r.policyID], r.position); s != nil {
			s.Targets = append(s.Targets, r.t)
		}
	}
	for _, id := range policyIDs {
		cache.policies[id] = policies[id] // nil: not found
	}
	for _, id := range tenantIDs {
		cache.tenants[id] = cache.tenants[id] // false: not found
	}
	return nil
}

// wrap wraps a non-nil err with what failed.
func wrap(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
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

// pagedSQL returns the responders the outbox already has a page for at each (alert, pass, loop,
// step) given: one probe of the outbox's unique key per alert.
const pagedSQL = `
select n.alert_id, n.responder_id
from unnest($1::bigint[], $2::int[], $3::int[], $4::int[]) as u(alert_id, pass, loop, step)
join notifications n on n.alert_id = u.alert_id and n.escalation_pass = u.pass
                    and n.escalation_loop = u.loop and n.escalation_step = u.step`

// loadPaged reads the pages the outbox already holds for the steps need names, by alert. What it
// reads stays true until the batch commits: a page's foreign key to its alert takes a KEY SHARE
// lock on the alert, which the claim's FOR UPDATE excludes, so nobody else inserts a page for a
// claimed alert meanwhile.
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
