package handoff

import (
	"time"

	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/oncall"
	"github.com/opsworker/opsworker/vocab"
)

// window is what one run, or one preview, covers of a schedule: the changes in (ChangedFrom,
// ChangedTo] are told to its subscriptions, those in (UpcomingFrom, UpcomingTo] to the responders
// who come on call.
type window struct {
	ChangedFrom, ChangedTo   time.Time
	UpcomingFrom, UpcomingTo time.Time
}

// subscription is an enabled row of schedule_subscriptions.
type subscription struct {
	ID, ScheduleID int64
	TenantID, Kind string
}

// contactMethod is an enabled contact method of a responder.
type contactMethod struct {
	ID, ResponderID int64
	TenantID, Kind  string
}

// row is one outbox row: a change told to one recipient (a subscription, or the responder who
// comes on call).
type row struct {
	ScheduleID                  int64
	TenantID                    string
	Kind                        vocab.NoticeKind
	ChangeAt                    time.Time
	SubscriptionID, ResponderID int64
	Status                      vocab.NoticeStatus
	LastError                   string
	Notice                      delivery.Notice
}

// key identifies a row as handoff_notices_once_idx does.
type key struct {
	schedule, at, sub, responder int64
	kind                         vocab.NoticeKind
}

func (r row) key() key {
	return key{schedule: r.ScheduleID, at: r.ChangeAt.UnixMicro(), sub: r.SubscriptionID, responder: r.ResponderID, kind: r.Kind}
}

// plan returns the rows w covers for s, told to subs (the schedule's enabled subscriptions of its
// tenant), all pending, in change order. It is the task's and the preview's one computation.
func plan(s *oncall.Schedule, subs []subscription, w window) []row {
	from, to := w.ChangedFrom, w.ChangedTo
	if !w.ChangedTo.After(w.ChangedFrom) {
		from, to = w.UpcomingFrom, w.UpcomingTo
	} else if w.UpcomingTo.After(w.UpcomingFrom) {
		from, to = minTime(from, w.UpcomingFrom), maxTime(to, w.UpcomingTo)
	}
	var rows []row
	for _, c := range Changes(s, from, to) {
		if in(c.At, w.ChangedFrom, w.ChangedTo) {
			n := noticeOf(s, vocab.NoticeChanged, c)
			for _, sub := range subs {
				rows = append(rows, row{ScheduleID: s.ID, TenantID: s.TenantID, Kind: vocab.NoticeChanged, ChangeAt: c.At,
					SubscriptionID: sub.ID, Status: vocab.NoticePending, Notice: n})
			}
		}
		if c.On != nil && in(c.At, w.UpcomingFrom, w.UpcomingTo) {
			rows = append(rows, row{ScheduleID: s.ID, TenantID: s.TenantID, Kind: vocab.NoticeUpcoming, ChangeAt: c.At,
				ResponderID: c.On.ID, Status: vocab.NoticePending, Notice: noticeOf(s, vocab.NoticeUpcoming, c)})
		}
	}
	return rows
}

// in reports whether t is in (from, to].
func in(t, from, to time.Time) bool { return t.After(from) && !t.After(to) }

// noticeOf is the content of c's notices of kind: everything their texts need, fixed now.
func noticeOf(s *oncall.Schedule, kind vocab.NoticeKind, c Change) delivery.Notice {
	return delivery.Notice{
		Type:     kind.Type(),
		Schedule: delivery.ScheduleNotice{ID: s.ID, Name: s.Name, TimeZone: s.Location.String()},
		At:       c.At,
		Until:    c.Until,
		OnCall:   named(c.On),
		OffCall:  named(c.Off),
	}
}

// named lists r, or nobody: an empty list, never null.
func named(r *oncall.Responder) []delivery.Named {
	if r == nil {
		return []delivery.Named{}
	}
	return []delivery.Named{{ID: r.ID, Name: r.Name}}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
