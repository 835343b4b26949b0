package console

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// An alert's page says each event of its timeline in English, naming the responders, schedules
// and policies its details refer to by id, with links: a responder to their page on the alert,
// a schedule to the On-call page, the policy to its steps on the alert's page. The details' JSON
// stays one click away (a <details> element: no script).

// part is a piece of a sentence: text, a link when Href is set.
type part struct {
	Text, Href string
}

// phrase is a sentence made of parts.
type phrase []part

func (p *phrase) text(s string)            { *p = append(*p, part{Text: s}) }
func (p *phrase) link(s, href string)      { *p = append(*p, part{Text: s, Href: href}) }
func (p *phrase) textf(f string, a ...any) { p.text(fmt.Sprintf(f, a...)) }

// String is the phrase as plain text.
func (p phrase) String() string {
	var b strings.Builder
	for _, x := range p {
		b.WriteString(x.Text)
	}
	return b.String()
}

// refs are the ids a timeline refers to.
type refs struct {
	responders, policies, schedules []int64
}

// details are an event's details, decoded; numbers are json.Number.
type details map[string]any

func decodeDetails(raw json.RawMessage) details {
	d := details{}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	_ = dec.Decode(&d) // not an object: nothing to say but the raw JSON
	return d
}

// id returns an id-valued entry.
func (d details) id(key string) (int64, bool) {
	n, ok := d[key].(json.Number)
	if !ok {
		return 0, false
	}
	v, err := n.Int64()
	return v, err == nil
}

// ids returns a list of ids.
func (d details) ids(key string) []int64 {
	list, _ := d[key].([]any)
	var out []int64
	for _, x := range list {
		if n, ok := x.(json.Number); ok {
			if v, err := n.Int64(); err == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

func (d details) str(key string) string {
	switch v := d[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// scheduleRefs returns an escalated event's "schedules": who was paged through which schedule.
func (d details) scheduleRefs() map[int64]int64 {
	list, _ := d["schedules"].([]any)
	out := map[int64]int64{}
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			r, ok1 := details(m).id("responder_id")
			s, ok2 := details(m).id("schedule_id")
			if ok1 && ok2 {
				out[r] = s
			}
		}
	}
	return out
}

// referredIDs collects the ids tl's alert, events and pages refer to.
func referredIDs(tl timeline) refs {
	var r refs
	if tl.Alert.EscalationPolicyID != nil {
		r.policies = append(r.policies, *tl.Alert.EscalationPolicyID)
	}
	for _, p := range tl.Pages {
		if p.ScheduleID != nil {
			r.schedules = append(r.schedules, *p.ScheduleID)
		}
	}
	for _, e := range tl.Events {
		d := decodeDetails(e.Details)
		for key := range d {
			switch {
			case key == "policy_id" || key == "previous_policy_id":
				if id, ok := d.id(key); ok {
					r.policies = append(r.policies, id)
				}
			case key == "schedule_id":
				if id, ok := d.id(key); ok {
					r.schedules = append(r.schedules, id)
				}
			case key == "responder_id":
				if id, ok := d.id(key); ok {
					r.responders = append(r.responders, id)
				}
			case strings.HasSuffix(key, "responder_ids"):
				r.responders = append(r.responders, d.ids(key)...)
			case key == "schedules":
				for resp, sched := range d.scheduleRefs() {
					r.responders, r.schedules = append(r.responders, resp), append(r.schedules, sched)
				}
			}
		}
	}
	for _, s := range []*[]int64{&r.responders, &r.policies, &r.schedules} {
		slices.Sort(*s)
		*s = slices.Compact(*s)
	}
	return r
}

// describer says a timeline's events in English, at the page's zone.
type describer struct {
	tl    *timeline
	loc   *time.Location
	pages map[pageKey]int64 // the page of a responder at a step
	byID  map[int64]bool    // the alert's pages
}

// pageKey names a page within an alert.
type pageKey struct {
	pass, loop, step int32
	responder        int64
}

func newDescriber(tl *timeline, loc *time.Location) describer {
	d := describer{tl: tl, loc: loc, pages: map[pageKey]int64{}, byID: map[int64]bool{}}
	for _, p := range tl.Pages {
		d.pages[pageKey{p.EscalationPass, p.EscalationLoop, p.EscalationStep, p.Responder.ID}] = p.ID
		d.byID[p.ID] = true
	}
	return d
}

// responder names responder id, linked to their page of event e's step when there is one.
func (d describer) responder(p *phrase, id int64, e *eventRow) {
	name, ok := d.tl.Names.Responders[id]
	if !ok {
		name = fmt.Sprintf("responder #%d (deleted)", id)
	}
	if e != nil && e.EscalationLoop != nil && e.EscalationStep != nil {
		if page, ok := d.pages[pageKey{e.EscalationPass, *e.EscalationLoop, *e.EscalationStep, id}]; ok {
			p.link(name, fmt.Sprintf("#page-%d", page))
			return
		}
	}
	p.text(name)
}

// schedule names schedule id, linked to it on the On-call page.
func (d describer) schedule(p *phrase, id int64) {
	s, ok := d.tl.Names.Schedules[id]
	if !ok {
		p.textf("schedule #%d (deleted)", id)
		return
	}
	p.link(s.Name, scheduleHref(s.TenantID, id))
}

// scheduleHref is schedule id's place on the On-call page.
func scheduleHref(tenantID string, id int64) string {
	return "/ui/oncall?tenant=" + url.QueryEscape(tenantID) + "#schedule-" + strconv.FormatInt(id, 10)
}

// policy names policy id, linked to its steps when it is the alert's.
func (d describer) policy(p *phrase, id int64) {
	name, ok := d.tl.Names.Policies[id]
	switch {
	case !ok:
		p.textf("policy #%d (deleted)", id)
	case d.tl.Policy != nil && d.tl.Policy.ID == id:
		p.link(name, "#policy")
	default:
		p.textf("policy %s", name)
	}
}

// instant says a time of the details, on the page's zone: its time of day when it is on the
// event's day, else its date too.
func (d describer) instant(raw string, at time.Time) string {
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return raw
	}
	t, at = t.In(d.loc), at.In(d.loc)
	clock := "15:04"
	if t.Second() != 0 {
		clock = "15:04:05"
	}
	if t.Format(time.DateOnly) == at.Format(time.DateOnly) {
		return t.Format(clock)
	}
	return t.Format("Mon 2006-01-02 " + clock)
}

// stepName says a position as people count: position 0 is step 1; a loop past the first is a
// repeat of the policy, a pass past the first a restart.
func stepName(e eventRow) string {
	if e.EscalationStep == nil {
		return ""
	}
	s := fmt.Sprintf("step %d", *e.EscalationStep+1)
	if e.EscalationLoop != nil && *e.EscalationLoop > 0 {
		s += fmt.Sprintf(", repeat %d", *e.EscalationLoop)
	}
	if e.EscalationPass > 0 {
		s += fmt.Sprintf(", restart %d", e.EscalationPass)
	}
	return s
}

func minutes(n string) string {
	if n == "1" {
		return "1 minute"
	}
	return n + " minutes"
}

// describe says event e.
func (d describer) describe(e eventRow) phrase {
	det := decodeDetails(e.Details)
	var p phrase
	policy := func() {
		if id, ok := det.id("policy_id"); ok {
			p.text(" of ")
			d.policy(&p, id)
		}
	}
	switch e.Event {
	case "escalated":
		d.restart(&p, det)
		through, paged := det.scheduleRefs(), det.ids("responder_ids")
		if len(paged) == 0 {
			p.text("Escalated")
		} else {
			p.text("Paged ")
		}
		for i, id := range paged {
			p.text(listSep(i, len(paged)))
			d.responder(&p, id, &e)
			if s, ok := through[id]; ok {
				p.text(" (on call for ")
				d.schedule(&p, s)
				p.text(")")
			}
		}
		p.text(" — " + stepName(e))
		policy()
		if n := det.str("delay_minutes"); n != "" {
			p.textf("; next escalation in %s, at %s", minutes(n), d.instant(det.str("next_escalation_at"), e.At))
		}
		if already := det.ids("already_paged_responder_ids"); len(already) > 0 {
			p.text("; already paged at this step: ")
			for i, id := range already {
				p.text(listSep(i, len(already)))
				d.responder(&p, id, nil)
			}
		}
		p.text(".")
	case "nobody_paged":
		d.restart(&p, det)
		p.text("Nobody was paged at " + stepName(e))
		policy()
		p.text("; the next step is due at once.")
	case "no_one_on_call":
		p.text("Nobody was on call for ")
		if id, ok := det.id("schedule_id"); ok {
			d.schedule(&p, id)
		}
		if probs, ok := det["schedule_problems"].([]any); ok && len(probs) > 0 {
			p.text(": ")
			for i, x := range probs {
				p.text(listSep(i, len(probs)) + fmt.Sprint(x))
			}
		}
		p.text(".")
	case "policy_exhausted":
		p.text("Every step")
		policy()
		if n := det.str("repeat_count"); n != "" && n != "0" {
			p.textf(" was paged, with %s repeats,", n)
		} else {
			p.text(" was paged")
		}
		p.text(" and nobody acknowledged: no more pages.")
	case "no_policy", "bad_policy":
		if id, ok := det.id("policy_id"); ok {
			p.text("The escalation policy, ")
			d.policy(&p, id)
			p.text(", cannot be used")
		} else {
			p.text("The alert has no escalation policy")
		}
		if r := det.str("reason"); r != "" {
			p.text(": " + r)
		}
		if t := det.str("policy_tenant_id"); t != "" {
			p.textf(" (it is tenant %s's)", t)
		}
		if det.str("acknowledgement") == "kept" {
			p.text("; the acknowledgement is kept")
		} else {
			p.text("; nobody is paged")
		}
		p.text(".")
	case "escalation_error":
		d.problem(&p, det, e)
	case "ack_timeout":
		p.text("Acknowledged")
		if by := det.str("acknowledged_by"); by != "" {
			p.text(" by " + by)
		}
		if at := det.str("acknowledged_at"); at != "" {
			p.text(" at " + d.instant(at, e.At))
		}
		if n := det.str("ack_timeout_minutes"); n != "" {
			p.textf(" and not resolved within %s", minutes(n))
		}
		p.text(": triggered again, escalating from the first step.")
	case "delivery_failed":
		if ch := det.str("channel"); ch != "" {
			p.text("The " + ch + " delivery")
		} else {
			p.text("A delivery")
		}
		if id := det.str("delivery_id"); id != "" {
			p.text(" #" + id)
		}
		if id, ok := det.id("responder_id"); ok {
			p.text(" to ")
			name, known := d.tl.Names.Responders[id]
			if !known {
				name = fmt.Sprintf("responder #%d (deleted)", id)
			}
			if page, ok := det.id("notification_id"); ok && d.byID[page] {
				p.link(name, fmt.Sprintf("#page-%d", page))
			} else {
				p.text(name)
			}
		}
		p.text(" failed for good")
		if n := det.str("attempts"); n != "" && n != "0" {
			if n == "1" {
				p.text(" after 1 attempt")
			} else {
				p.text(" after " + n + " attempts")
			}
		}
		if r := det.str("reason"); r != "" {
			p.text(": " + strings.ReplaceAll(r, "_", " "))
		}
		if e := det.str("error"); e != "" {
			p.text(" (" + e + ")")
		}
		p.text(".")
	case "acknowledged", "resolved":
		p.text(strings.ToUpper(e.Event[:1]) + e.Event[1:])
		if id, ok := det.id("responder_id"); ok {
			p.text(" by ")
			d.responder(&p, id, nil)
		}
		if via := det.str("via"); via != "" {
			p.text(" via " + via)
		}
		p.text(".")
	default:
		d.generic(&p, det, e.Event)
	}
	if len(p) > 0 {
		p[0].Text = capital(p[0].Text)
	}
	return p
}

// restart says why an escalated or nobody_paged event began a new pass.
func (d describer) restart(p *phrase, det details) {
	switch det.str("restart") {
	case "":
	case "policy_changed":
		p.text("Restarted: the policy changed")
		if id, ok := det.id("previous_policy_id"); ok {
			p.text(" from ")
			d.policy(p, id)
		}
		p.text(". ")
	case "escalation_step_reset":
		p.text("Restarted by another service (escalation step reset). ")
	default:
		p.text("Restarted (" + strings.ReplaceAll(det.str("restart"), "_", " ") + "). ")
	}
}

// problem says an escalation_error: bad data met while escalating.
func (d describer) problem(p *phrase, det details, e eventRow) {
	// target names the responder or schedule the problem is about.
	target := func() {
		if id, ok := det.id("responder_id"); ok {
			d.responder(p, id, nil)
		}
		if id, ok := det.id("schedule_id"); ok {
			p.text("schedule ")
			d.schedule(p, id)
		}
	}
	switch pr := det.str("problem"); pr {
	case "tenant_not_found":
		p.textf("Tenant %s does not exist: nobody can be paged for this alert.", det.str("tenant_id"))
	case "responder_not_found", "schedule_not_found":
		target()
		p.text(", a target of " + stepName(e) + ", no longer exists: skipped.")
	case "responder_of_another_tenant", "schedule_of_another_tenant":
		target()
		p.textf(", a target of %s, is tenant %s%s's: skipped.", stepName(e), det.str("responder_tenant_id"), det.str("schedule_tenant_id"))
	case "step_has_no_targets":
		p.text(capital(stepName(e)))
		if id, ok := det.id("policy_id"); ok {
			p.text(" of ")
			d.policy(p, id)
		}
		p.text(" has no target.")
	case "delay_out_of_range":
		p.text(capital(stepName(e)))
		if id, ok := det.id("policy_id"); ok {
			p.text(" of ")
			d.policy(p, id)
		}
		p.textf(" waits %s, more than a year: it waits a year.", minutes(det.str("delay_minutes")))
	case "acknowledged_at_missing":
		p.text("Acknowledged without a time of acknowledgement: the ack timeout cannot apply.")
	default:
		if _, ok := det.id("schedule_id"); ok {
			p.text("Schedule ")
			id, _ := det.id("schedule_id")
			d.schedule(p, id)
			p.text(" cannot be used (" + strings.ReplaceAll(pr, "_", " "))
			if err := det.str("error"); err != "" {
				p.text(": " + err)
			}
			p.text("); skipped.")
			return
		}
		d.generic(p, det, "problem")
	}
}

// generic says details it has no sentence for: each entry, ids named.
func (d describer) generic(p *phrase, det details, what string) {
	p.text(capital(strings.ReplaceAll(what, "_", " ")))
	if len(det) == 0 {
		p.text(".")
		return
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range det {
			if !yield(k) {
				return
			}
		}
	})
	for i, k := range keys {
		if i == 0 {
			p.text(": ")
		} else {
			p.text(", ")
		}
		name := strings.ReplaceAll(k, "_", " ")
		id, isID := det.id(k)
		switch {
		case isID && k == "responder_id":
			p.text("responder ")
			d.responder(p, id, nil)
		case isID && k == "schedule_id":
			p.text("schedule ")
			d.schedule(p, id)
		case isID && k == "policy_id":
			d.policy(p, id)
		default:
			if s := det.str(k); s != "" {
				p.text(name + " " + s)
			} else {
				b, _ := json.Marshal(det[k])
				p.text(name + " " + string(b))
			}
		}
	}
	p.text(".")
}

func listSep(i, n int) string {
	switch {
	case i == 0:
		return ""
	case i == n-1:
		return " and "
	}
	return ", "
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
