package escalation

import (
	"sort"
	"time"

	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/vocab"
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
	problemNextOutOfRange       = "next_escalation_out_of_range"
	problemAckedAtMissing       = "acknowledged_at_missing" // the ack timeout pass's
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

// batchData is everything a batch's decisions and plans read: the policies, tenants and
// schedules' answers its alerts need (from the run's cache, see load), and the pages the outbox
// already holds for the steps decided.
type batchData struct {
	policies map[int64]*policy // by id; nil: not found
	tenants  map[string]bool   // by id; false: not found
	onCall   map[int64]onCall
	// paged holds, per alert of the batch, the responders the outbox already has a page for at
	// the step decided for the alert (same pass, loop and position): only when another service
	// moved escalation_step or escalation_loop back by hand.
	paged map[int64]map[int64]bool
}

type outcomeKind int

const (
	kindEscalated outcomeKind = iota // a step was tried: it paged someone, or nobody (outcome.Empty)
	kindExhausted
	kindNoPolicy
	kindBadPolicy
	kindNoTenant
)

// decision is where an alert goes next, decided once per batch from its policy and tenant
// (decide), before the step's targets are resolved.
type decision struct {
	alert   dueAlert
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
		return decision{alert: a, kind: kindNoTenant}
	}
	if a.PolicyID == nil {
		return decision{alert: a, kind: kindNoPolicy}
	}
	p := data.policies[*a.PolicyID]
	switch {
	case p == nil:
		return decision{alert: a, kind: kindNoPolicy, reason: reasonPolicyNotFound}
	case p.TenantID != a.TenantID:
		// Paging another tenant's people is worse than paging nobody: refuse, loudly.
		return decision{alert: a, kind: kindBadPolicy, policy: p, reason: reasonPolicyOfAnotherTenant}
	case len(p.Steps) == 0:
		return decision{alert: a, kind: kindBadPolicy, policy: p, reason: reasonPolicyHasNoSteps}
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
			return decision{alert: a, kind: kindEscalated, policy: p, step: &p.Steps[0], loop: 0, pass: a.Pass + 1, restart: restart}
		}
	}
	i := 0
	if a.Step != nil {
		i = sort.Search(len(p.Steps), func(i int) bool { return p.Steps[i].Position > *a.Step })
	}
	if i < len(p.Steps) {
		return decision{alert: a, kind: kindEscalated, policy: p, step: &p.Steps[i], loop: a.Loop, pass: a.Pass}
	}
	if a.Loop < p.RepeatCount {
		return decision{alert: a, kind: kindEscalated, policy: p, step: &p.Steps[0], loop: a.Loop + 1, pass: a.Pass}
	}
	return decision{alert: a, kind: kindExhausted, policy: p}
}

// needs is what a batch's decisions need loaded before they can be planned.
type needs struct {
	// Schedules are the schedules the decided steps page, each once.
	Schedules []int64
	// Steps are the outbox keys of the decided steps, one per alert that pages one, as columns.
	Steps struct {
		Alerts               []int64
		Passes, Loops, Steps []int32
	}
}

// needsOf returns what decisions need loaded (see load.loadNeeds): the planner's own answer,
// so the load reads exactly what plan will look up, for the decisions made once.
func needsOf(decisions []decision) needs {
	var n needs
	seen := map[int64]bool{}
	for _, d := range decisions {
		if d.kind != kindEscalated {
			continue
		}
		n.Steps.Alerts = append(n.Steps.Alerts, d.alert.ID)
		n.Steps.Passes = append(n.Steps.Passes, d.pass)
		n.Steps.Loops = append(n.Steps.Loops, d.loop)
		n.Steps.Steps = append(n.Steps.Steps, d.step.Position)
		for _, t := range d.step.Targets {
			if t.ScheduleID != 0 && !seen[t.ScheduleID] {
				seen[t.ScheduleID] = true
				n.Schedules = append(n.Schedules, t.ScheduleID)
			}
		}
	}
	return n
}

// page is one notification to write.
type page struct {
	ResponderID int64
	ScheduleID  *int64 // the schedule the responder was on call for; nil: a direct target
}

// event is one alert_events row to write.
type event struct {
	Kind    vocab.Event
	Step    *int32
	Loop    int32
	Pass    int32
	Details map[string]any
}

// outcome is everything one alert's escalation writes, complete: write stores it as it is.
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
	// Pages are the pages to insert, one per distinct responder not paged at this step before;
	// Paged are their responders, in the same order.
	Pages []page
	Paged []int64
	// Empty: the step paged nobody, so it is due again at once.
	Empty bool
	// Restart says why a new pass began ("": none).
	Restart string
	Events  []event
	// For the log line: the schedules whose on-call responder was paged.
	ScheduleIDs []int64
}

// scheduleRef is one entry of an escalated event's "schedules".
type scheduleRef struct {
	ScheduleID  int64 `json:"schedule_id"`
	ResponderID int64 `json:"responder_id"`
}

// plan turns one alert's decision into its complete outcome at now. It reads only its arguments,
// so every case of DESIGN.md's escalation semantics is a unit test.
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
//   - A next escalation past the supported range (civil.CheckRange: a step paged late in 2199)
//     is an escalation_error (next_escalation_out_of_range), and is not stored: the alert is
//     not due again, as after no_policy, and every instant the task writes stays in the range.
//   - An alert whose tenant is not in tenants gets one escalation_error (tenant_not_found) and
//     stops, like an alert without a policy. It has nobody who may be paged: responders,
//     schedules and policies all reference an existing tenant, so every target it could reach
//     is another tenant's, and paging another tenant's people would leak the alert. Trying each
//     step anyway would only write a misleading error per step. The event, the warning in the
//     log and opsworker_escalation_errors_total make it loud; once the tenant exists, setting
//     next_escalation_at resumes it.
func plan(d decision, data *batchData, now time.Time) outcome {
	a := d.alert
	out := outcome{Alert: a, Kind: d.kind, Step: a.Step, Loop: a.Loop, Pass: a.Pass,
		EscalatedPolicyID: a.EscalatedPolicyID, Rewound: a.Rewound}
	ev := func(kind vocab.Event, details map[string]any) {
		out.Events = append(out.Events, event{Kind: kind, Step: a.Step, Loop: a.Loop, Pass: a.Pass, Details: details})
	}
	switch d.kind {
	case kindNoTenant:
		ev(vocab.EventError, map[string]any{"problem": problemTenantNotFound, "tenant_id": a.TenantID})
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
		kind := vocab.EventNoPolicy
		if d.kind == kindBadPolicy {
			kind = vocab.EventBadPolicy
		}
		ev(kind, details)
	case kindExhausted:
		ev(vocab.EventPolicyExhausted, map[string]any{"policy_id": d.policy.ID, "repeat_count": d.policy.RepeatCount})
	case kindEscalated:
		escalate(&out, d, data, now)
	}
	return out
}

// escalate fills out with the paging of d's step: its targets resolved, deduplicated (the first
// target, in the step's order, that reaches a responder is the one recorded), the events saying
// why a target reached nobody, and the step's own event, which names exactly the responders
// paged: escalated, waiting the step's delay, when there is one; otherwise nobody_paged, due
// again at once. "At once" is the first microsecond (PostgreSQL's resolution) after now: the
// claim's next_escalation_at <= now leaves it to the next run, so an alert still moves at most
// one step per run. A responder the outbox already has a page for at this step (data.paged) is
// not paged again, and is named apart.
func escalate(out *outcome, d decision, data *batchData, now time.Time) {
	a, s := out.Alert, d.step
	pos, policyID := s.Position, d.policy.ID
	out.Step, out.Loop, out.Pass, out.Escalated = &pos, d.loop, d.pass, true
	out.EscalatedPolicyID, out.Rewound, out.Restart = &policyID, false, d.restart

	problem := func(details map[string]any) {
		out.Events = append(out.Events, event{Kind: vocab.EventError, Step: &pos, Loop: d.loop, Pass: d.pass, Details: details})
	}
	delay := s.DelayMinutes
	switch {
	case s.DelayMinutes > maxDelayMinutes:
		problem(map[string]any{"problem": problemDelayOutOfRange, "policy_id": policyID, "position": pos,
			"delay_minutes": s.DelayMinutes, "max_delay_minutes": maxDelayMinutes})
		delay = maxDelayMinutes
	case s.DelayMinutes < minDelayMinutes:
		delay = minDelayMinutes
	}

	already := data.paged[a.ID]
	seen := make(map[int64]bool, len(s.Targets))
	var alreadyPaged []int64
	schedules := []scheduleRef{}
	out.Paged = []int64{}
	add := func(responderID int64, scheduleID *int64) {
		if seen[responderID] {
			return
		}
		seen[responderID] = true
		if already[responderID] {
			// Only when another service moved escalation_step or escalation_loop back by hand.
			alreadyPaged = append(alreadyPaged, responderID)
			return
		}
		out.Pages = append(out.Pages, page{ResponderID: responderID, ScheduleID: scheduleID})
		out.Paged = append(out.Paged, responderID)
		if scheduleID != nil {
			schedules = append(schedules, scheduleRef{ScheduleID: *scheduleID, ResponderID: responderID})
			out.ScheduleIDs = append(out.ScheduleIDs, *scheduleID)
		}
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
			out.Events = append(out.Events, event{Kind: vocab.EventNoOneOnCall, Step: &pos, Loop: d.loop, Pass: d.pass, Details: details})
		default:
			add(oc.ResponderID, &sid)
		}
	}

	details := map[string]any{"policy_id": policyID}
	if d.restart != "" {
		details["restart"] = d.restart
		if d.restart == restartPolicyChanged && a.EscalatedPolicyID != nil {
			details["previous_policy_id"] = *a.EscalatedPolicyID
		}
	}
	var next time.Time
	kind := vocab.EventEscalated
	if len(out.Paged) == 0 {
		out.Empty, kind = true, vocab.EventNobodyPaged
		next = now.Truncate(time.Microsecond).Add(time.Microsecond)
	} else {
		next = now.Add(time.Duration(delay) * time.Minute)
		details["responder_ids"] = out.Paged
		details["schedules"] = schedules
		details["delay_minutes"] = delay
	}
	if len(alreadyPaged) > 0 {
		details["already_paged_responder_ids"] = alreadyPaged
	}
	if err := civil.CheckRange(next); err != nil {
		// The instant itself is named only inside the error's text: not an instant written.
		problem(map[string]any{"problem": problemNextOutOfRange, "error": err.Error()})
	} else {
		details["next_escalation_at"] = next
		out.Next = &next
	}
	out.Events = append(out.Events, event{Kind: kind, Step: out.Step, Loop: out.Loop, Pass: out.Pass, Details: details})
}
