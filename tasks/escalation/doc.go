// Package escalation is the escalation task: every run pages whoever is on call for each
// triggered, unacknowledged alert whose next escalation step is due, one step per alert per run,
// and returns acknowledged alerts whose acknowledgement timed out to triggered.
//
// A run works in batches, each one transaction: claim due alerts with FOR UPDATE SKIP LOCKED (so
// replicas share the work and never page a step twice); load the batch's policies and tenants,
// decide each alert's next step once (decide, plan.go), and load what those decisions need (the
// schedules their steps page, the pages the outbox already holds for those steps), each with a
// fixed number of queries; plan each alert's complete outcome in memory (plan, no database); and
// write the outcomes as planned, the notifications outbox, the alerts' timeline and their new
// escalation state, with a fixed number of set-based statements. A batch commits or leaves no
// trace; logs and metrics follow the commit, so they never report work that was rolled back.
//
// The values of the schema's enumerated columns (statuses, event kinds) come from package vocab
// and reach SQL as parameters, never as literals.
//
// Another service restarts an alert (reopened, reset, moved to another policy) by setting
// escalation_step = null, or the worker sees that the alert's policy is not the one it last
// escalated with: a restart begins a new pass from the first step, and the pass is part of the
// outbox's key, so its pages are new pages (see decide in plan.go).
//
// Bad data written by other services (a schedule with an unknown zone, a deleted schedule or
// responder, a policy without steps, an alert of a tenant that is not in tenants) is recorded on
// the alert's timeline as an event and never stops the other alerts; see plan.go for what each
// case does next.
package escalation
