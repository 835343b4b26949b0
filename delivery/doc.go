// Package delivery sends pages to the responders' contact methods: a signed webhook (Standard
// Webhooks), a Slack incoming webhook, or an e-mail. It is the delivery task of DESIGN.md: River
// workers on queue "delivery", inside `opsworker serve`. Follow-ups and handoff notices are
// messages like pages (deliveries.message), queued by their tasks with EnqueueMessages and sent
// by the same workers; only a page is cancelled because its alert was acknowledged or resolved.
//
// A page (a notifications row) gets one deliveries row per enabled contact method of its
// responder, and one River job per delivery, inserted by Enqueue in the transaction that inserts
// the page: a committed page always has its deliveries queued, a rolled-back escalation has none.
// Job arguments carry the delivery's id only, never an address or a secret.
//
// Each attempt (Worker.Work) reads the delivery with everything it needs in one query, cancels it
// when the alert was acknowledged or resolved meanwhile, sends it through the Sender of its kind,
// and records the outcome in one statement: sent; retried (River's retry schedule, which the
// worker sets in NextRetry, or the receiver's Retry-After); or failed for good, with an alert
// event delivery_failed. The page's status rolls up from its deliveries. Delivery is at least
// once: a receiver dedupes by webhook-id, the delivery's id, the same on every attempt.
//
// Destinations are guarded at connect time (see Destinations): webhook and Slack addresses must
// be https and resolve to public addresses unless they lie in DELIVERY_ALLOW_NETWORKS; redirects
// are not followed and responses are read up to 64 KiB.
package delivery
