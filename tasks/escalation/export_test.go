package escalation

import "time"

// Exported for the external tests only.

// ClaimSQL is the claim query, for the benchmark's EXPLAIN and the tests that interrupt a batch.
const ClaimSQL = claimSQL

// AckTimeoutSQL is the ack timeout pass, the first statement of every run.
const AckTimeoutSQL = ackTimeoutSQL

// WriteSQL is the batch's write, its last statement before the deliveries and the commit.
const WriteSQL = writeSQL

// PlanMode is how the claim and the ack timeout pass are executed.
const PlanMode = planMode

// SetStopMargin changes how long before its deadline t starts no batch but the first.
func SetStopMargin(t *Task, d time.Duration) { t.stopMargin = d }
