package escalation

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/opsworker/opsworker/oncall"
)

// resolutions are a run's answers, at its now, of the schedules it has resolved, by id.
//
// Every batch of a run escalates at the same now, so the first batch that pages a schedule
// resolves it for the whole run: a backlog of 10,000 alerts of 500 tenants is 20 batches that
// would otherwise each load the same 500 schedules again (the loading was most of the cost of
// such a run). A change to a schedule made during a run applies from the next run, as one made
// during a batch applies from the next batch: each alert of the run pages whom the schedule named
// at now when the run first asked.
type resolutions map[int64]onCall

// resolveSchedules adds to known the answers of the schedules ids name that it lacks, and
// returns it. It loads them, once each, and asks each who is on call at now: every alert paging a
// schedule pages the same person, for one computation. A schedule that cannot be used is an
// answer (onCall.Problem), not an error: only a failed query fails the batch (and then known is
// unchanged).
func resolveSchedules(ctx context.Context, q oncall.Querier, ids []int64, now time.Time, known resolutions) (resolutions, error) {
	var missing []int64
	for _, id := range ids {
		if _, ok := known[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return known, nil
	}
	out, err := loadSchedules(ctx, q, missing, now)
	if err != nil {
		return nil, err
	}
	maps.Copy(known, out)
	return known, nil
}

// loadSchedules loads the schedules ids name and returns what each answers at now.
func loadSchedules(ctx context.Context, q oncall.Querier, ids []int64, now time.Time) (map[int64]onCall, error) {
	out := make(map[int64]onCall, len(ids))
	schedules, bad, err := oncall.LoadMany(ctx, q, ids, now)
	if err != nil {
		return nil, fmt.Errorf("load schedules: %w", err)
	}
	for id, err := range bad {
		problem := problemScheduleInvalid
		if errors.Is(err, oncall.ErrNotFound) {
			problem = problemScheduleNotFound
		}
		out[id] = onCall{Problem: problem, Err: err.Error()}
	}
	for id, s := range schedules {
		out[id] = onCallAt(s, now)
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			out[id] = onCall{Problem: problemScheduleNotFound}
		}
	}
	return out, nil
}

// onCallAt asks s who is on call at now. A panic in the computation (a schedule whose data the
// loader accepted but the model cannot handle) becomes that schedule's problem: one broken
// schedule must not stop every page of every run.
func onCallAt(s *oncall.Schedule, now time.Time) (oc onCall) {
	defer func() {
		if r := recover(); r != nil {
			oc = onCall{Problem: problemScheduleInvalid, Err: fmt.Sprintf("on-call computation panicked: %v", r)}
		}
	}()
	r, ok := s.OnCall(now)
	return onCall{TenantID: s.TenantID, ResponderID: r.ID, OK: ok, Problems: s.Problems}
}
