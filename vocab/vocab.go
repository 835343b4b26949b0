// Package vocab is the one vocabulary of the values opsworker stores in, and reads from, the
// enumerated text columns of the schema contract (DESIGN.md): alert statuses, the kinds of the
// alert timeline's events, page and delivery statuses, and the reasons a page or a delivery
// ended without being sent.
//
// Every package that writes or reads these values takes them from here and passes them to SQL as
// parameters, never as literals in a statement: a word spelled twice is a word that can drift.
// The types are strings underneath, so pgx encodes them as text.
package vocab

// AlertStatus is alerts.status. Other services set it; the worker changes it only through the
// ack timeout, action links and heartbeat alerts.
type AlertStatus string

// Alert statuses.
const (
	AlertTriggered    AlertStatus = "triggered"
	AlertAcknowledged AlertStatus = "acknowledged"
	AlertResolved     AlertStatus = "resolved"
)

// Event is alert_events.event: what happened to an alert, as the worker saw it.
type Event string

// Events of the escalation task.
const (
	EventEscalated       Event = "escalated"        // a step paged someone
	EventNobodyPaged     Event = "nobody_paged"     // a step reached nobody; the alert is due again at once
	EventNoOneOnCall     Event = "no_one_on_call"   // a schedule target had nobody on call
	EventPolicyExhausted Event = "policy_exhausted" // every step and repeat paged; nobody acknowledged
	EventNoPolicy        Event = "no_policy"        // the alert has no escalation policy
	EventBadPolicy       Event = "bad_policy"       // the policy has no steps, or is another tenant's
	EventError           Event = "escalation_error" // bad data of the alert (recorded once, left alone)
	EventAckTimeout      Event = "ack_timeout"      // an acknowledgement expired; escalation restarts
)

// Events of delivery.
const (
	EventNoContactMethod Event = "no_contact_method" // a page's responder has no enabled contact method
	EventDeliveryFailed  Event = "delivery_failed"   // a delivery failed for good
)

// PageStatus is notifications.status: the roll-up of a page's deliveries.
type PageStatus string

// Page statuses.
const (
	PagePending PageStatus = "pending"
	PageSent    PageStatus = "sent"
	PageFailed  PageStatus = "failed"
)

// PageKind is notifications.kind.
type PageKind string

// PageEscalation is the kind of every page the escalation task writes.
const PageEscalation PageKind = "escalation"

// Message is deliveries.message: what a delivery carries.
type Message string

// Messages.
const (
	MessagePage     Message = "page"     // a page of an alert (notifications row)
	MessageFollowup Message = "followup" // an alert someone was paged for changed
	MessageNotice   Message = "notice"   // a change of who is on call
)

// DeliveryStatus is deliveries.status.
type DeliveryStatus string

// Delivery statuses.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliverySent      DeliveryStatus = "sent"
	DeliveryFailed    DeliveryStatus = "failed"
	DeliveryCancelled DeliveryStatus = "cancelled"
)

// Reason says why a delivery or a page ended without being sent: deliveries.last_error of a
// delivery that failed for good or was cancelled, notifications.last_error of a page failed at
// once, and the reason in a delivery_failed event's details.
type Reason string

// Reasons.
const (
	ReasonNoContactMethod       Reason = "no_contact_method"
	ReasonDestinationNotAllowed Reason = "destination_not_allowed"
	ReasonNoWebhookSecret       Reason = "no_webhook_secret"
	ReasonNoSMTP                Reason = "no_smtp"
	ReasonBadAddress            Reason = "bad_address"
	ReasonRedirect              Reason = "redirect_not_followed"
	ReasonRejected              Reason = "rejected"        // a 4xx other than 408, 425, 429
	ReasonBadCertificate        Reason = "bad_certificate" // the receiver's TLS certificate does not verify
	ReasonBadPage               Reason = "bad_page"        // the page cannot be encoded (a time beyond year 9999)
	ReasonAttemptsExhausted     Reason = "attempts_exhausted"
	ReasonUnknownChannel        Reason = "unknown_channel"
	ReasonAlertAcknowledged     Reason = "alert_acknowledged"
	ReasonAlertResolved         Reason = "alert_resolved"
	ReasonContactMethodRemoved  Reason = "contact_method_removed"
)

// NoticeKind is handoff_notices.kind: whom a handoff notice tells, and when.
type NoticeKind string

// Notice kinds.
const (
	NoticeChanged  NoticeKind = "changed"  // a schedule's subscriptions, at the change
	NoticeUpcoming NoticeKind = "upcoming" // the responder who comes on call, HANDOFF_LEAD before
)

// Type is the notice's type in its webhook body and payload: oncall.changed or oncall.upcoming.
func (k NoticeKind) Type() string { return "oncall." + string(k) }

// NoticeStatus is handoff_notices.status.
type NoticeStatus string

// Notice statuses.
const (
	NoticePending NoticeStatus = "pending" // its deliveries are queued
	NoticeSent    NoticeStatus = "sent"    // one of its deliveries was sent
	NoticeSkipped NoticeStatus = "skipped" // the change was over an hour old when the worker came to it: not sent
	NoticeFailed  NoticeStatus = "failed"  // nothing could be queued or sent (last_error says why)
)

// SourceHeartbeat is alerts.source of the alerts the heartbeats task opens.
const SourceHeartbeat = "heartbeat"

// Events of status changes the worker makes or sees made: an action link's (details
// {"via":"link","responder_id":N}), and the heartbeat task's resolution ({"via":"heartbeat"}).
const (
	EventAcknowledged Event = "acknowledged"
	EventResolved     Event = "resolved"
)

// Via says who made a change of an alert's status, as a follow-up tells it: followups.via, the
// via of a follow-up's body and of an acknowledged/resolved event's details.
type Via string

// Ways a status changes.
const (
	ViaLink       Via = "link"        // a responder followed a signed action link
	ViaService    Via = "service"     // another service of the platform (an API, a UI)
	ViaAckTimeout Via = "ack_timeout" // the ack timeout returned the alert to triggered
	ViaHeartbeat  Via = "heartbeat"   // the heartbeat task opened or resolved its own alert
)

// Action is what a signed action link does.
type Action string

// Actions of links.
const (
	ActionAcknowledge Action = "acknowledge"
	ActionResolve     Action = "resolve"
)

// FollowupType is the type of a follow-up message (its webhook body's "type"): what happened to
// an alert its recipient was paged for.
type FollowupType string

// Follow-up types.
const (
	FollowupAcknowledged FollowupType = "alert.acknowledged"
	FollowupResolved     FollowupType = "alert.resolved"
	FollowupRetriggered  FollowupType = "alert.retriggered"
)
