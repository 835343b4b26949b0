package handoff

import (
	"context"
	"slices"
	"time"

	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/oncall"
	"github.com/opsworker/opsworker/vocab"
)

// Preview is what the handoff task would send for one schedule in a window of time, computed as
// the task computes it (`opsworker handoff`; the console's on-call page): see it before it
// happens.
type Preview struct {
	ScheduleID int64     `json:"schedule_id"`
	Name       string    `json:"name"`
	TimeZone   string    `json:"time_zone"`
	From       time.Time `json:"from"`
	Until      time.Time `json:"until"`
	Lead       string    `json:"lead"`
	// Subscriptions are the schedule's enabled subscriptions: who hears of every change.
	Subscriptions []Channel `json:"subscriptions"`
	Notices       []Planned `json:"notices"`
}

// Planned is one notice of a Preview: sent at SendAt (the change, or the lead before it), about
// the change at ChangeAt, to one recipient.
type Planned struct {
	SendAt   time.Time        `json:"send_at"`
	Kind     vocab.NoticeKind `json:"kind"`
	ChangeAt time.Time        `json:"change_at"`
	To       Recipient        `json:"to"`
	Text     string           `json:"text"`
	Notice   delivery.Notice  `json:"notice"`
}

// Recipient is whom a notice goes to: a subscription (its channel), or the responder who comes
// on call, through each of their enabled contact methods (none: the notice fails).
type Recipient struct {
	SubscriptionID int64           `json:"subscription_id,omitempty"`
	Channel        string          `json:"channel,omitempty"`
	Responder      *delivery.Named `json:"responder,omitempty"`
	ContactMethods []Channel       `json:"contact_methods,omitempty"`
}

// Channel is a contact method, by id and kind (never its address: a Slack or webhook address is
// a credential).
type Channel struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
}

// Window previews the notices the task sends for schedule id from from to until with lead
// HANDOFF_LEAD: those told to subscriptions at the changes in (from, until], and those told to
// responders lead before the changes in (from + lead, until + lead]; in the order they are sent.
// An unknown schedule gives an error wrapping oncall.ErrNotFound.
func Window(ctx context.Context, q oncall.Querier, id int64, from, until time.Time, lead time.Duration) (Preview, error) {
	s, err := oncall.Load(ctx, q, id, from)
	if err != nil {
		return Preview{}, err
	}
	subs, err := loadSubscriptions(ctx, q, map[int64]*oncall.Schedule{id: s})
	if err != nil {
		return Preview{}, err
	}
	byID := map[int64]subscription{}
	channels := []Channel{}
	for _, sub := range subs[id] {
		byID[sub.ID] = sub
		channels = append(channels, Channel{ID: sub.ID, Kind: sub.Kind})
	}
	rows := plan(s, subs[id], window{ChangedFrom: from, ChangedTo: until, UpcomingFrom: from.Add(lead), UpcomingTo: until.Add(lead)})
	var responders []int64
	for _, r := range rows {
		if r.Kind == vocab.NoticeUpcoming {
			responders = append(responders, r.ResponderID)
		}
	}
	methods, err := loadContactMethods(ctx, q, slices.Compact(slices.Sorted(slices.Values(responders))))
	if err != nil {
		return Preview{}, err
	}
	p := Preview{ScheduleID: id, Name: s.Name, TimeZone: s.Location.String(), From: from.In(s.Location), Until: until.In(s.Location),
		Lead: lead.String(), Subscriptions: channels, Notices: make([]Planned, 0, len(rows))}
	for _, r := range rows {
		pl := Planned{SendAt: r.ChangeAt, Kind: r.Kind, ChangeAt: r.ChangeAt, Text: r.Notice.Text(), Notice: r.Notice}
		if r.Kind == vocab.NoticeChanged {
			pl.To = Recipient{SubscriptionID: r.SubscriptionID, Channel: byID[r.SubscriptionID].Kind}
		} else {
			pl.SendAt = r.ChangeAt.Add(-lead)
			pl.To = Recipient{Responder: &r.Notice.OnCall[0], ContactMethods: []Channel{}}
			for _, cm := range methodsOf(methods, r) {
				pl.To.ContactMethods = append(pl.To.ContactMethods, Channel{ID: cm.ID, Kind: cm.Kind})
			}
		}
		p.Notices = append(p.Notices, pl)
	}
	slices.SortStableFunc(p.Notices, func(a, b Planned) int { return a.SendAt.Compare(b.SendAt) })
	return p, nil
}
