package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opsworker/opsworker/oncall"
)

// resolveSchedules loads the schedules ids name, once each, and asks each who is on call at
// now: every alert of the batch paging a schedule pages the same person, for one computation.
// A schedule that cannot be used is an answer (onCall.Problem), not an error: only a failed
// query fails the batch.
func resolveSchedules(ctx context.Context, q oncall.Querier, ids []int64, now time.Time) (map[int64]onCall, error) {
	out := make(map[int64]onCall, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
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
