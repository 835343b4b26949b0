package escalation

import (
	"context"
	"time"
)

// Exported for the external tests only.

// ClaimSQL is the claim query, for the benchmark's EXPLAIN.
const ClaimSQL = claimSQL

// Hook points.
const (
	HookClaimed   = hookClaimed
	HookWritten   = hookWritten
	HookCommitted = hookCommitted
)

// SetHook makes t call f at each hook point of each batch.
func SetHook(t *Task, f func(ctx context.Context, point string, batch int)) { t.hook = f }

// SetStopMargin changes how long before its deadline t starts no batch but the first.
func SetStopMargin(t *Task, d time.Duration) { t.stopMargin = d }
