package escalation

import (
	"sort"
	"time"
)

// Event kinds written to alert_events by a batch: DESIGN.md's, and escalation_error, this
// package's name for bad data met while escalating. (The ack timeout pass writes ack_timeout.)
const (
	eventEscalated       = "escalated"
	eventNoOneOnCall     = "no_one_on_call"
	eventPolicyExhausted = "policy_exhausted"
	eventNoPolicy        = "no_policy"
	eventBadPolicy       = "bad_policy"
	eventError           = "escalation_error"
)

// Problems named in the details of an escalation_error event.
const (
	problemTenantNotFound       = "tenant_not_found"
	problemResponderNotFound    = "responder_not_found"
	problemResponderOtherTenant = "responder_of_another_tenant"
	problemScheduleNotFound     = "schedule_not_found"
	problemScheduleInvalid      = "schedule_invalid"
	problemScheduleOtherTenant  = "schedule_of_another_tenant"
	problemStepHasNoTargets     = "step_has_no_targets"
)

// Reasons given in the details of no_policy and bad_policy events.
const (
	reasonPolicyNotFound        = "policy not found"
	reasonPolicyHasNoSteps      = "policy has no steps"
	reasonPolicyOfAnotherTenant = "policy belongs to another tenant"
)

// minDelayMinutes guards the one-step-per-run rule against a delay the schema should have
// rejected: an alert paged at now is never due again at now.
const minDelayMinutes int32 = 1

// dueAlert is a claimed alert, as much of it as escalation needs.
type dueAlert struct {
	ID       int64
	TenantID string
	PolicyID *int64
	Step     *int32 // position last paged in this loop; nil: none yet
	Loop     int32
}

// policy is an escalation policy with its steps in position order.
type policy struct {
	ID          int64
	TenantID    string
	RepeatCount int32
	Steps       []step
}

type step struct {
	Position     int32
	DelayMinutes int32
	Targets      []target
}

// target is one of a step's targets: exactly one of ResponderID and ScheduleID is non-zero.
type target struct {
	ResponderID int64
	ScheduleID  int64
	// For a responder target: whether the responder exists, and its tenant.
	ResponderFound  bool
	ResponderTenant string
}

// onCall is what a schedule answered at the run's now. Problem is set when the schedule could
// not be used (not found, invalid); otherwise OK says whether someone is on call.
type onCall struct {
	TenantID    string
	ResponderID int64
	OK          bool
	Problem     string
	Err         string
}

// batchData is everything a batch's decisions read, loaded once per batch.
type batchData struct {
	policies map[int64]*policy
	tenants  map[string]bool // tenants that exist
	onCall   map[int64]onCall
}

type outcomeKind int

const (
	kindEscalated outcomeKind = iota
	kindExhausted
	kindNoPolicy
	kindBadPolicy
	kindNoTenant
)

// decision is where an alert goes next, before its targets are resolved.
type decision struct {
	kind   outcomeKind
	policy *policy
	step   *step // kindEscalated: the step to page
	loop   int32 // kindEscalated: the loop of that step
	reason string
}

// decide applies DESIGN.md's rule for the next position. The next step is the one with the
// smallest position above the one last paged (the first when none was): with contiguous
// positions, as the API writes them, that is escalation_step + 1, and a gap in the positions
// neither stops nor skips anything.
func decide(a dueAlert, data *batchData) decision {
	if !data.tenants[a.TenantID] {
		return decision{kind: kindNoTenant}
	}
	if a.PolicyID == nil {
		return decision{kind: kindNoPolicy}
	}
	p := data.policies[*a.PolicyID]
	switch {
	case p == nil:
		return decision{kind: kindNoPolicy, reason: reasonPolicyNotFound}
	case p.TenantID != a.TenantID:
		// Paging another tenant's people is worse than paging nobody: refuse, loudly.
		return decision{kind: kindBadPolicy, policy: p, reason: reasonPolicyOfAnotherTenant}
	case len(p.Steps) == 0:
		return decision{kind: kindBadPolicy, policy: p, reason: reasonPolicyHasNoSteps}
	}
	i := 0
	if a.Step != nil {
		i = sort.Search(len(p.Steps), func(i int) bool { return p.Steps[i].Position > *a.Step })
	}
	if i < len(p.Steps) {
		return decision{kind: kindEscalated, policy: p, step: &p.Steps[i], loop: a.Loop}
	}
	if a.Loop < p.RepeatCount {
		return decision{kind: kindEscalated, policy: p, step: &p.Steps[0], loop: a.Loop + 1}
	}
	return decision{kind: kindExhausted, policy: p}
}

// page is one notification to write.
type page struct {
	ResponderID int64
	ScheduleID  *int64 // the schedule the responder was on call for; nil: a direct target
}

// event is one alert_events row to write.
type event struct {
	Kind    string
	Step    *int32
	Loop    int32
	Details map[string]any
}

// outcome is everything one alert's escalation writes.
type outcome struct {
	Alert dueAlert
	Kind  outcomeKind
	// The alert's new escalation state.
	Step      *int32
	Loop      int32
	Escalated bool       // last_escalated_at = now
	Next      *time.Time // nil: never again (until an ack timeout or another service says so)
	Pages     []page
	Events    []event
	// For the log line: the schedules whose on-call responder was paged.
	ScheduleIDs []int64
}

// responderIDs returns the responders o pages, in order (never nil: it is written as JSON).
func (o outcome) responderIDs() []int64 {
	ids := make([]int64, len(o.Pages))
	for i, p := range o.Pages {
		ids[i] = p.ResponderID
	}
	return ids
}

// scheduleRef is one entry of an escalated event's "schedules".
type scheduleRef struct {
	ScheduleID  int64 `json:"schedule_id"`
	ResponderID int64 `json:"responder_id"`
}

// plan decides one alert's escalation at now. It reads only its arguments, so every case of
// DESIGN.md's escalation semantics is a unit test.
//
// What bad data does, and why:
//   - No policy, or a policy that is gone: no_policy once, then never again (next null) until
//     another service sets a policy and next_escalation_at. A policy of another tenant or
//     without steps: bad_policy, the same way. There is nothing to page, and retrying every
//     minute would only repeat the event.
//   - A target that cannot be used (responder or schedule gone, schedule with an unknown zone or
//     otherwise broken, target of another tenant) is skipped with an escalation_error naming it;
//     the step's other targets are paged. A step left with nobody to page (all targets failed,
//     nobody on call, or no targets at all) still advances, with the normal delay: the policy
//     proceeds to its next step, whose targets still get paged. Stopping instead would page
//     nobody, silently, for as long as the data stays broken, which is the worst outcome an
//     alerting system has; skipping the delay would page two steps in one run.
//   - An alert whose tenant is not in tenants gets one escalation_error (tenant_not_found) and
//     stops, like an alert without a policy. It has nobody who may be paged: responders,
//     schedules and policies all reference an existing tenant, so every target it could reach
//     is another tenant's, and paging another tenant's people would leak the alert. Trying each
//     step anyway would only write a misleading error per step. The event, the warning in the
//     log and opsworker_escalation_errors_total make it loud; once the tenant exists, setting
//     next_escalation_at resumes it.
func plan(a dueAlert, data *batchData, now time.Time) outcome {
	d := decide(a, data)
	out := outcome{Alert: a, Kind: d.kind, Step: a.Step, Loop: a.Loop}
	switch d.kind {
	case kindNoTenant:
		out.Events = append(out.Events, event{Kind: eventError, Step: a.Step, Loop: a.Loop,
			Details: map[string]any{"problem": problemTenantNotFound, "tenant_id": a.TenantID}})
	case kindNoPolicy, kindBadPolicy:
		details := map[string]any{}
		if a.PolicyID != nil {
			details["policy_id"] = *a.PolicyID
		}
		if d.reason != "" {
			details["reason"] = d.reason
		}
		if d.policy != nil && d.policy.TenantID != a.TenantID {
			details["policy_tenant_id"] = d.policy.TenantID
		}
		kind := eventNoPolicy
		if d.kind == kindBadPolicy {
			kind = eventBadPolicy
		}
		out.Events = append(out.Events, event{Kind: kind, Step: a.Step, Loop: a.Loop, Details: details})
	case kindExhausted:
		out.Events = append(out.Events, event{Kind: eventPolicyExhausted, Step: a.Step, Loop: a.Loop,
			Details: map[string]any{"policy_id": d.policy.ID, "repeat_count": d.policy.RepeatCount}})
	case kindEscalated:
		escalate(&out, d, data, now)
	}
	return out
}

// escalate fills out with the paging of d's step: its targets resolved, deduplicated (the first
// target, in the step's order, that reaches a responder is the one recorded), and the events.
func escalate(out *outcome, d decision, data *batchData, now time.Time) {
	a, s := out.Alert, d.step
	pos := s.Position
	out.Step, out.Loop, out.Escalated = &pos, d.loop, true
	delay := max(s.DelayMinutes, minDelayMinutes)
	next := now.Add(time.Duration(delay) * time.Minute)
	out.Next = &next

	problem := func(details map[string]any) {
		out.Events = append(out.Events, event{Kind: eventError, Step: &pos, Loop: d.loop, Details: details})
	}
	seen := make(map[int64]bool, len(s.Targets))
	schedules := []scheduleRef{}
	add := func(responderID int64, scheduleID *int64) {
		if seen[responderID] {
			return
		}
		seen[responderID] = true
		out.Pages = append(out.Pages, page{ResponderID: responderID, ScheduleID: scheduleID})
	}
	if len(s.Targets) == 0 {
		problem(map[string]any{"problem": problemStepHasNoTargets, "policy_id": d.policy.ID, "position": pos})
	}
	for _, t := range s.Targets {
		if t.ScheduleID == 0 {
			switch {
			case !t.ResponderFound:
				problem(map[string]any{"problem": problemResponderNotFound, "responder_id": t.ResponderID})
			case t.ResponderTenant != a.TenantID:
				problem(map[string]any{"problem": problemResponderOtherTenant, "responder_id": t.ResponderID,
					"responder_tenant_id": t.ResponderTenant})
			default:
				add(t.ResponderID, nil)
			}
			continue
		}
		sid := t.ScheduleID
		oc, found := data.onCall[sid]
		switch {
		case !found:
			problem(map[string]any{"problem": problemScheduleNotFound, "schedule_id": sid})
		case oc.Problem != "":
			details := map[string]any{"problem": oc.Problem, "schedule_id": sid}
			if oc.Err != "" {
				details["error"] = oc.Err
			}
			problem(details)
		case oc.TenantID != a.TenantID:
			problem(map[string]any{"problem": problemScheduleOtherTenant, "schedule_id": sid,
				"schedule_tenant_id": oc.TenantID})
		case !oc.OK:
			out.Events = append(out.Events, event{Kind: eventNoOneOnCall, Step: &pos, Loop: d.loop,
				Details: map[string]any{"schedule_id": sid}})
		default:
			add(oc.ResponderID, &sid)
			schedules = append(schedules, scheduleRef{ScheduleID: sid, ResponderID: oc.ResponderID})
			out.ScheduleIDs = append(out.ScheduleIDs, sid)
		}
	}
	out.Events = append(out.Events, event{Kind: eventEscalated, Step: &pos, Loop: d.loop, Details: map[string]any{
		"policy_id":          d.policy.ID,
		"responder_ids":      out.responderIDs(),
		"schedules":          schedules,
		"delay_minutes":      delay,
		"next_escalation_at": next,
	}})
}

// schedulesNeeded returns the schedules the batch's alerts will page, each once, so the batch
// loads only those.
func schedulesNeeded(alerts []dueAlert, data *batchData) []int64 {
	seen := map[int64]bool{}
	var ids []int64
	for _, a := range alerts {
		d := decide(a, data)
		if d.kind != kindEscalated {
			continue
		}
		for _, t := range d.step.Targets {
			if t.ScheduleID != 0 && !seen[t.ScheduleID] {
				seen[t.ScheduleID] = true
				ids = append(ids, t.ScheduleID)
			}
		}
	}
	return ids
}
