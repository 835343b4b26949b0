package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/vocab"
)

// Sender sends one attempt of a delivery of its kind.
type Sender interface {
	Send(ctx context.Context, a *Attempt, now time.Time) Result
	// Destination is where a's attempt goes, as host:port (the lanes' key, see lanes.go); ""
	// when it goes nowhere (a bad address, no SMTP_URL).
	Destination(a *Attempt) string
}

// WebhookBody is the JSON a page's webhook delivery posts (DESIGN's "Delivery semantics").
type WebhookBody struct {
	Type       string    `json:"type"` // always "alert.paged"
	DeliveryID int64     `json:"delivery_id"`
	TenantID   string    `json:"tenant_id"`
	Alert      AlertInfo `json:"alert"`
	Page       PageInfo  `json:"page"`
	Responder  Named     `json:"responder"`
	Schedule   *Named    `json:"schedule"`
	// Actions are the page's acknowledge and resolve links; absent when links are off.
	Actions *action.Links `json:"actions,omitempty"`
}

// PageInfo is a webhook body's "page".
type PageInfo struct {
	NotificationID int64     `json:"notification_id"`
	EscalationLoop int       `json:"escalation_loop"`
	EscalationStep int       `json:"escalation_step"`
	PagedAt        time.Time `json:"paged_at"`
}

// FollowupBody is the JSON a follow-up's webhook delivery posts: the follow-up as it was queued
// (type alert.acknowledged, alert.resolved or alert.retriggered) with the delivery's id and tenant.
type FollowupBody struct {
	DeliveryID int64  `json:"delivery_id"`
	TenantID   string `json:"tenant_id"`
	*Followup
}

// NoticeBody is the JSON a handoff notice's webhook delivery posts: the notice as it was queued
// (type oncall.changed or oncall.upcoming) with the delivery's id and tenant.
type NoticeBody struct {
	DeliveryID int64  `json:"delivery_id"`
	TenantID   string `json:"tenant_id"`
	*Notice
}

// webhookBody is the body of a's message.
func webhookBody(a *Attempt) any {
	switch {
	case a.Followup != nil:
		return FollowupBody{DeliveryID: a.DeliveryID, TenantID: a.TenantID, Followup: a.Followup}
	case a.Notice != nil:
		return NoticeBody{DeliveryID: a.DeliveryID, TenantID: a.TenantID, Notice: a.Notice}
	}
	return pageBody(a.DeliveryID, a.TenantID, a.Page)
}

func pageBody(deliveryID int64, tenantID string, p *Page) WebhookBody {
	b := WebhookBody{
		Type: "alert.paged", DeliveryID: deliveryID, TenantID: tenantID, Alert: p.Alert,
		Page:      PageInfo{NotificationID: p.NotificationID, EscalationLoop: p.Loop, EscalationStep: p.Step, PagedAt: p.PagedAt},
		Responder: p.Responder, Schedule: p.Schedule,
	}
	if !p.Links.Empty() {
		b.Actions = &p.Links
	}
	return b
}

// Webhook posts the message as JSON, signed per Standard Webhooks with the tenant's secret:
// webhook-id is the delivery's id (the same on every attempt, so a receiver dedupes by it),
// webhook-timestamp the attempt's Unix time, webhook-signature "v1,<base64 HMAC-SHA256>".
type Webhook struct {
	Destinations *Destinations
}

// Send implements Sender.
func (w Webhook) Send(ctx context.Context, a *Attempt, now time.Time) Result {
	if a.Secret == "" {
		return permanent(vocab.ReasonNoWebhookSecret, errors.New("the tenant has no webhook_secret: webhooks are never sent unsigned"))
	}
	hook, err := standardwebhooks.NewWebhook(a.Secret)
	if err != nil {
		return permanent(vocab.ReasonNoWebhookSecret, errors.New("the tenant's webhook_secret is not a whsec_ base64 secret"))
	}
	client, u, refused := w.Destinations.Client(a.Address)
	if refused != nil {
		return *refused
	}
	body, err := json.Marshal(webhookBody(a))
	if err != nil {
		return permanent(vocab.ReasonBadPage, err)
	}
	id := strconv.FormatInt(a.DeliveryID, 10)
	sig, err := hook.Sign(id, now, body)
	if err != nil {
		return permanent(vocab.ReasonNoWebhookSecret, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return permanent(vocab.ReasonBadAddress, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "opsworker")
	req.Header.Set(standardwebhooks.HeaderWebhookID, id)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := client.Do(req)
	if err != nil {
		return fromError(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // at most 64 KiB: the body is limited
	resp.Body.Close()
	return fromStatus(resp.StatusCode, resp.Header, now)
}

// Destination implements Sender.
func (w Webhook) Destination(a *Attempt) string { return destinationOf(a.Address) }
