package console

import "github.com/opsworker/opsworker/redact"

// redactTimeline masks the credentials of addresses (a Slack webhook's token, a webhook's
// ?token=) in everything a timeline shows of errors — pages' and deliveries' last_error, River's
// record of each attempt, events' details — so that neither the API nor the page shows one.
// Delivery redacts them before storing; this covers rows stored before it did.
func redactTimeline(tl *timeline) {
	text := func(s *string) {
		if s != nil {
			*s = redact.Text(*s)
		}
	}
	for i := range tl.Events {
		tl.Events[i].Details = redact.JSON(tl.Events[i].Details)
	}
	for i := range tl.Pages {
		p := &tl.Pages[i]
		text(p.LastError)
		for j := range p.Deliveries {
			d := &p.Deliveries[j]
			text(d.LastError)
			if d.Job != nil {
				for k := range d.Job.Errors {
					text(&d.Job.Errors[k].Error)
				}
			}
		}
	}
}
