package escalation

import (
	"sort"
	"time"
)

// Event kinds written to alert_events by a batch: DESIGN.md's, escalation_error (this package's
// name for bad data met while escalating) and nobody_paged (a step that reached nobody). (The ack
// timeout pass writes ack_timeout, and bad_policy and escalation_error for bad alert rows.)
const (
	eventEscalated       = "escalated"
	eventNobodyPaged     = "nobody_paged"
	eventNoOneOnCall     = "no_one_on_call"
	eventPolicyExhausted = "policy_exhausted"
	eventNoPolicy        = "no_policy"
	eventBadPolicy       = "bad_policy"
	eventError           = "escalation_error"
	eventAckTimeout      = "ack_timeout"
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
	problemDelayOutOfRange      = "delay_out_of_range"
)

// Reasons given in the details of no_policy and bad_policy events.
const (
	reasonPolicyNotFound        = "policy not found"
	reasonPolicyHasNoSteps      = "policy has no steps"
	reasonPolicyOfAnotherTenant = "policy belongs to another tenant"
)

// Why a pass restarted, in the details of its first step's event.
const (
	restartPolicyChanged = "policy_changed"        // escalation_policy_id is not the policy last escalated with
	restartStepReset     = "escalation_step_reset" // another service set escalation_step = null
)

// The range of escalation_steps.delay_minutes (DESIGN.md): at least a minute, so that an alert
// paged at now is never due again at now (one step per run), and at most a year. The schema
// checks both for new rows; an older row outside the range is bad data, used clamped.
const (
	minDelayMinutes int32 = 1
	maxDelayMinutes int32 = 525600
)

// dueAlert is a claimed alert, as much of it as escalation needs.
type dueAlert struct {
	ID       int64
	TenantID string
	PolicyID *int64
	Step     *int32 // position last paged in this loop; nil: none yet (or a restart, see decide)
	Loop     int32
	Pass     int32
	// EscalatedPolicyID is the policy Step and Loop refer to: the one a step was last paged
	// from in this pass (nil: none yet).
	EscalatedPolicyID *int64
	// Rewound: the ack timeout set Step to nil to page position 0 of the next loop; that nil
	// is the worker's own, not another service's restart.
	Rewound bool
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
	// Problems are the schedule's own (oncall.Schedule.Problems: stale participants and
	// overrides); it still answers, but a stale participant's turn is a gap.
	Problems []string
}

// batchData is everything a batch's decisions read, loaded once per batch.
type batchData struct {
	policies map[int64]*policy
	tenants  map[string]bool // tenants that exist
	onCall   map[int64]onCall
}

type outcomeKind int

const (
	kindEscalated outcomeKind = iota // a step was tried: it paged someone, or nobody (outcome.Empty)
	kindExhausted
	kindNoPolicy
	kindBadPolicy
	kindNoTenant
)

// decision is where an alert goes next, before its targets are resolved.
type decision struct {
	kind    outcomeKind
	policy  *policy
	step    *step  // kindEscalated: the step to page
	loop    int32  // kindEscalated: the loop of that step
	pass    int32  // kindEscalated: the pass of that step
	restart string // kindEscalated: why a new pass begins ("": it does not)
	reason  string
}

// decide applies DESIGN.md's rules for the next position.
//
// A restart begins a new pass at the first step, loop 0, when the alert was escalated before in
// this pass (EscalatedPolicyID set) and either its policy is no longer that one, or another
// service set escalation_step = null. Three things look alike and are told apart: an alert's very
// first escalation (nothing escalated yet: position 0 of pass 0, no restart), the ack timeout's
// return to position 0 (Rewound: same pass, the loop it set), and a restart.
//
// Otherwise the next step is the one with the smallest position above the one last paged (the
// first when none was): with contiguous positions, as the API writes them, that is
// escalation_step + 1, and a gap in the positions neither stops nor skips anything.
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
	if a.EscalatedPolicyID != nil {
		restart := ""
		switch {
		case *a.EscalatedPolicyID != p.ID:
			restart = restartPolicyChanged
		case a.Step == nil && !a.Rewound:
			restart = restartStepReset
		}
		if restart != "" {
			return decision{kind: kindEscalated, policy: p, step: &p.Steps[0], loop: 0, pass: a.Pass + 1, restart: restart}
		}
	}
	i := 0
	if a.Step != nil {
		i = sort.Search(len(p.Steps), func(i int) bool { return p.Steps[i].Position > *a.Step })
	}
	if i < len(p.Steps) {
		return decision{kind: kindEscalated, policy: p, step: &p.Steps[i], loop: a.Loop, pass: a.Pass}
	}
	if a.Loop < p.RepeatCount {
		return decision{kind: kindEscalated, policy: p, step: &p.Steps[0], loop: a.Loop + 1, pass: a.Pass}
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
	Pass    int32
	Details map[string]any
}

// outcome is everything one alert's escalation writes. plan fills it but for the step's own
// event and next_escalation_at, which depend on which pages the outbox took: settle completes it
// once the notifications are inserted.
type outcome struct {
	Alert dueAlert
	Kind  outcomeKind
	// The alert's new escalation state.
	Step              *int32
	Loop              int32
	Pass              int32
	EscalatedPolicyID *int64
	Rewound           bool
	Escalated         bool       // last_escalated_at = now
	Next              *time.Time // nil: never again (until an ack timeout or another service says so)
	// Pages are the pages planned, one per distinct responder; Paged, after settle, the
	// responders whose page the outbox took, in the same order.
	Pages []page
	Paged []int64
	// Empty, after settle: the step paged nobody, so it is due again at once.
	Empty  bool
	Events []event
	// For the log line: the schedules whose on-call responder was paged.
	ScheduleIDs []int64

	// The step's event, completed by settle (kindEscalated only).
	policyID     int64
	restart      string
	delayMinutes int32
}

// scheduleRef is one entry of an escalated event's "schedules".
type scheduleRef struct {
	ScheduleID  int64 `json:"schedule_id"`
	ResponderID int64 `json:"responder_id"`
}

// plan decides one alert's escalation at now. It reads only its arguments, so every case of
// DESIGN.md's escalation semantics is a unit test (with settle).
//
// What bad data does, and why:
//   - No policy, or a policy that is gone: no_policy once, then never again (next null) until
//     another service sets a policy and next_escalation_at. A policy of another tenant or
//     without steps: bad_policy, the same way. There is nothing to page, and retrying every
//     minute would only repeat the event.
//   - A target that cannot be used (responder or schedule gone, schedule with an unknown zone or
//     otherwise broken, target of another tenant) is skipped with an escalation_error naming it;
//     the step's other targets are paged. A step left with nobody to page (all targets failed,
//     nobody on call, or no targets at all) records why, then nobody_paged, and does not wait its
//     delay: the alert is due again at once (strictly after now, so the next run, never this
//     one, pages the next step). Stopping instead would page nobody, silently, for as long as
//     the data stays broken, which is the worst outcome an alerting system has; waiting the
//     delay would leave the alert unpaged for the length of a step that did nothing.
//   - A delay above a year (stored before the schema checked it) is an escalation_error
//     (delay_out_of_range); the step waits a year, never an overflowed instant.
//   - An alert whose tenant is not in tenants gets one escalation_error (tenant_not_found) and
//     stops, like an alert without a policy. It has nobody who may be paged: responders,
//     schedules and policies all reference an existing tenant, so every target it could reach
//     is another tenant's, and paging another tenant's people would leak the alert. Trying each
//     step anyway would only write a misleading error per step. The event, the warning in the
//     log and opsworker_escalation_errors_total make it loud; once the tenant exists, setting
//     next_escalation_at resumes it.
func plan(a dueAlert, data *batchData, now time.Time) outcome {
	d := decide(a, data)
	out := outcome{Alert: a, Kind: d.kind, Step: a.Step, Loop: a.Loop, Pass: a.Pass,
		EscalatedPolicyID: a.EscalatedPolicyID, Rewound: a.Rewound}
	ev := func(kind string, details map[string]any) {
		out.Events = append(out.Events, event{Kind: kind, Step: a.Step, Loop: a.Loop, Pass: a.Pass, Details: details})
	}
	switch d.kind {
	case kindNoTenant:
		ev(eventError, map[string]any{"problem": problemTenantNotFound, "tenant_id": a.TenantID})
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
		ev(kind, details)
	case kindExhausted:
		ev(eventPolicyExhausted, map[string]any{"policy_id": d.policy.ID, "repeat_count": d.policy.RepeatCount})
	case kindEscalated:
		escalate(&out, d, data)
	}
	return out
}

// escalate fills out with the paging of d's step: its targets resolved, deduplicated (the first
// target, in the step's order, that reaches a responder is the one recorded), and the events
// saying why a target reached nobody. settle adds the step's own event.
func escalate(out *outcome, d decision, data *batchData) {
	a, s := out.Alert, d.step
	pos, policyID := s.Position, d.policy.ID
	out.Step, out.Loop, out.Pass, out.Escalated = &pos, d.loop, d.pass, true
	out.EscalatedPolicyID, out.Rewound = &policyID, false
	out.policyID, out.restart = policyID, d.restart

	problem := func(details map[string]any) {
		out.Events = append(out.Events, event{Kind: eventError, Step: &pos, Loop: d.loop, Pass: d.pass, Details: details})
	}
	out.delayMinutes = s.DelayMinutes
	switch {
	case s.DelayMinutes > maxDelayMinutes:
		problem(map[string]any{"problem": problemDelayOutOfRange, "policy_id": policyID, "position": pos,
			"delay_minutes": s.DelayMinutes, "max_delay_minutes": maxDelayMinutes})
		out.delayMinutes = maxDelayMinutes
	case s.DelayMinutes < minDelayMinutes:
		out.delayMinutes = minDelayMinutes
	}

	seen := make(map[int64]bool, len(s.Targets))
	add := func(responderID int64, scheduleID *int64) {
		if seen[responderID] {
			return
		}
		seen[responderID] = true
		out.Pages = append(out.Pages, page{ResponderID: responderID, ScheduleID: scheduleID})
	}
	if len(s.Targets) == 0 {
		problem(map[string]any{"problem": problemStepHasNoTargets, "policy_id": policyID, "position": pos})
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
			details := map[string]any{"schedule_id": sid}
			if len(oc.Problems) > 0 {
				details["schedule_problems"] = oc.Problems // why the gap may be there
			}
			out.Events = append(out.Events, event{Kind: eventNoOneOnCall, Step: &pos, Loop: d.loop, Pass: d.pass, Details: details})
		default:
			add(oc.ResponderID, &sid)
		}
	}
}

// settle completes an escalated outcome once the batch's notifications are inserted: inserted
// reports whether the outbox took the page of a responder (false: that page already existed).
// The step's event names exactly the responders paged: escalated, waiting the step's delay, when
// there is one; otherwise nobody_paged, due again at once. "At once" is the first microsecond
// (PostgreSQL's resolution) after now: the claim's next_escalation_at <= now leaves it to the
// next run, so an alert still moves at most one step per run.
func (o *outcome) settle(inserted func(responderID int64) bool, now time.Time) {
	if o.Kind != kindEscalated {
		return
	}
	schedules := []scheduleRef{}
	o.Paged, o.ScheduleIDs = []int64{}, nil
	var already []int64
	for _, p := range o.Pages {
		if !inserted(p.ResponderID) {
			already = append(already, p.ResponderID)
			continue
		}
		o.Paged = append(o.Paged, p.ResponderID)
		if p.ScheduleID != nil {
			schedules = append(schedules, scheduleRef{ScheduleID: *p.ScheduleID, ResponderID: p.ResponderID})
			o.ScheduleIDs = append(o.ScheduleIDs, *p.ScheduleID)
		}
	}
	details := map[string]any{"policy_id": o.policyID}
	if o.restart != "" {
		details["restart"] = o.restart
		if o.restart == restartPolicyChanged && o.Alert.EscalatedPolicyID != nil {
			details["previous_policy_id"] = *o.Alert.EscalatedPolicyID
		}
	}
	var next time.Time
	kind := eventEscalated
	if len(o.Paged) == 0 {
		o.Empty, kind = true, eventNobodyPaged
		next = now.Truncate(time.Microsecond).Add(time.Microsecond)
	} else {
		next = now.Add(time.Duration(o.delayMinutes) * time.Minute)
		details["responder_ids"] = o.Paged
		details["schedules"] = schedules
		details["delay_minutes"] = o.delayMinutes
	}
	if len(already) > 0 {
		// Only when another service moved escalation_step or escalation_loop back by hand.
		details["already_paged_responder_ids"] = already
	}
	details["next_escalation_at"] = next
	o.Next = &next
	o.Events = append(o.Events, event{Kind: kind, Step: o.Step, Loop: o.Loop, Pass: o.Pass, Details: details})
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
