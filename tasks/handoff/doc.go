// Package handoff is the handoff task: it tells a schedule's subscriptions (team channels) who is
// on call whenever that changes ("Carol is now on call for Primary until Tue 09:00 CET", webhook
// type oncall.changed), and each responder who comes on call, HANDOFF_LEAD before, that their
// shift starts ("You are on call for Primary from Mon 09:00 CET to Tue 09:00 CET",
// oncall.upcoming). A gap is a change too: subscribers hear that nobody is on call.
//
// Changes are those of the final on-call set as package oncall computes it (Schedule.Shifts:
// layers, restrictions and overrides, DST-exact), so what the handoff task tells is what
// escalation pages. Each schedule has a cursor (handoff_cursors): a run covers the changes in
// (changed_through, now] for subscriptions and (upcoming_through, now + lead] for responders,
// writes one outbox row per change and recipient (handoff_notices, unique: replicas and reruns
// never notify twice), queues the rows' deliveries through package delivery in the same
// transaction, and moves the cursor. A change more than an hour old when a run comes to it (the
// worker was down) is recorded as skipped, not sent; a cursor further behind than a week starts
// again a week back.
//
// A run works in batches of schedules, each one transaction with a fixed number of statements:
// claim cursors (FOR UPDATE SKIP LOCKED), load the schedules (oncall.LoadMany), their
// subscriptions and the contact methods of the responders coming on call, compute in memory,
// insert the outbox rows, queue their deliveries, move the cursors.
package handoff
