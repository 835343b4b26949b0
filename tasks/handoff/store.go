package handoff

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/oncall"
	"github.com/opsworker/opsworker/vocab"
)

// ensureCursorsSQL gives every schedule without a cursor one at the run's now: a schedule is
// covered from the first run that sees it (a new deployment does not tell old changes).
const ensureCursorsSQL = `
insert into handoff_cursors (schedule_id, tenant_id, changed_through, upcoming_through, updated_at)
select s.id, s.tenant_id, $1, $1, $1
from oncall_schedules s
where not exists (select 1 from handoff_cursors c where c.schedule_id = s.id)
on conflict (schedule_id) do nothing`

// claimSQL locks the next schedules after schedule $3 not yet covered up to the run's now, in
// key order (a run's batches walk the primary key once); another replica's are skipped.
const claimSQL = `
select schedule_id, changed_through, upcoming_through
from handoff_cursors
where schedule_id > $3 and changed_through < $1
order by schedule_id
limit $2
for update skip locked`

// moveSQL moves the claimed cursors to the run's ends; never back (a rerun at an earlier now).
const moveSQL = `
update handoff_cursors
set changed_through = greatest(changed_through, $2), upcoming_through = greatest(upcoming_through, $3), updated_at = $2
where schedule_id = any($1)`

// subscriptionsSQL reads the schedules' enabled subscriptions (schedule_subscriptions_schedule_idx).
const subscriptionsSQL = `
select id, schedule_id, tenant_id, kind
from schedule_subscriptions
where schedule_id = any($1) and enabled
order by id`

// contactMethodsSQL reads the responders' enabled contact methods (contact_methods_responder_idx).
const contactMethodsSQL = `
select id, responder_id, tenant_id, kind
from contact_methods
where responder_id = any($1) and enabled
order by id`

// insertSQL writes the outbox rows; a row already there (a rerun, a replica) is left alone and
// not returned, so only the new ones are queued.
const insertSQL = `
insert into handoff_notices (tenant_id, schedule_id, change_at, kind, subscription_id, responder_id, status, last_error, notice, created_at)
select r.tenant_id, r.schedule_id, r.change_at, r.kind, r.subscription_id, r.responder_id, r.status, r.last_error, r.notice, $10
from unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::jsonb[])
     as r (tenant_id, schedule_id, change_at, kind, subscription_id, responder_id, status, last_error, notice)
on conflict (schedule_id, change_at, kind, subscription_id, responder_id) do nothing
returning id, schedule_id, change_at, kind, coalesce(subscription_id, 0), coalesce(responder_id, 0)`

// cursor is a claimed schedule's coverage.
type cursor struct {
	ScheduleID                      int64
	ChangedThrough, UpcomingThrough time.Time
}

func claim(ctx context.Context, tx pgx.Tx, now time.Time, limit int, after int64) ([]cursor, error) {
	rows, err := tx.Query(ctx, claimSQL, now, limit, after)
	if err != nil {
		return nil, fmt.Errorf("claim schedules: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[cursor])
	if err != nil {
		return nil, fmt.Errorf("claim schedules: %w", err)
	}
	return out, nil
}

// loadSubscriptions returns the schedules' enabled subscriptions by schedule, those of the
// schedule's tenant only (another tenant's row naming the schedule is bad data, never told).
func loadSubscriptions(ctx context.Context, q oncall.Querier, schedules map[int64]*oncall.Schedule) (map[int64][]subscription, error) {
	ids := make([]int64, 0, len(schedules))
	for id := range schedules {
		ids = append(ids, id)
	}
	rows, err := q.Query(ctx, subscriptionsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("load subscriptions: %w", err)
	}
	subs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[subscription])
	if err != nil {
		return nil, fmt.Errorf("load subscriptions: %w", err)
	}
	out := map[int64][]subscription{}
	for _, s := range subs {
		if sc := schedules[s.ScheduleID]; sc != nil && sc.TenantID == s.TenantID {
			out[s.ScheduleID] = append(out[s.ScheduleID], s)
		}
	}
	return out, nil
}

// loadContactMethods returns the responders' enabled contact methods by responder.
func loadContactMethods(ctx context.Context, q oncall.Querier, responders []int64) (map[int64][]contactMethod, error) {
	out := map[int64][]contactMethod{}
	if len(responders) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, contactMethodsSQL, responders)
	if err != nil {
		return nil, fmt.Errorf("load contact methods: %w", err)
	}
	cms, err := pgx.CollectRows(rows, pgx.RowToStructByPos[contactMethod])
	if err != nil {
		return nil, fmt.Errorf("load contact methods: %w", err)
	}
	for _, cm := range cms {
		out[cm.ResponderID] = append(out[cm.ResponderID], cm)
	}
	return out, nil
}

// methodsOf returns r's recipient's contact methods of the row's tenant.
func methodsOf(methods map[int64][]contactMethod, r row) []contactMethod {
	var out []contactMethod
	for _, cm := range methods[r.ResponderID] {
		if cm.TenantID == r.TenantID {
			out = append(out, cm)
		}
	}
	return out
}

// insertRows writes rows and returns the new ones' ids by key.
func insertRows(ctx context.Context, tx pgx.Tx, rows []row, now time.Time) (map[key]int64, error) {
	out := map[key]int64{}
	if len(rows) == 0 {
		return out, nil
	}
	n := len(rows)
	var (
		tenants, kinds, statuses = make([]string, n), make([]string, n), make([]string, n)
		schedules                = make([]int64, n)
		at                       = make([]time.Time, n)
		subs, responders         = make([]*int64, n), make([]*int64, n)
		lastErrors               = make([]*string, n)
		notices                  = make([][]byte, n)
	)
	for i := range rows {
		r := &rows[i]
		tenants[i], kinds[i], statuses[i], schedules[i], at[i] = r.TenantID, string(r.Kind), string(r.Status), r.ScheduleID, r.ChangeAt
		if r.SubscriptionID != 0 {
			subs[i] = &r.SubscriptionID
		}
		if r.ResponderID != 0 {
			responders[i] = &r.ResponderID
		}
		if r.LastError != "" {
			lastErrors[i] = &r.LastError
		}
		b, err := json.Marshal(r.Notice)
		if err != nil {
			return nil, fmt.Errorf("notice of schedule %d: %w", r.ScheduleID, err)
		}
		notices[i] = b
	}
	res, err := tx.Query(ctx, insertSQL, tenants, schedules, at, kinds, subs, responders, statuses, lastErrors, notices, now)
	if err != nil {
		return nil, fmt.Errorf("insert notices: %w", err)
	}
	var (
		id, sched, sub, resp int64
		changeAt             time.Time
		kind                 string
	)
	_, err = pgx.ForEachRow(res, []any{&id, &sched, &changeAt, &kind, &sub, &resp}, func() error {
		out[key{schedule: sched, at: changeAt.UnixMicro(), sub: sub, responder: resp, kind: vocab.NoticeKind(kind)}] = id
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("insert notices: %w", err)
	}
	return out, nil
}
