package scheduler

import (
	"log/slog"

	"github.com/robfig/cron/v3"
)

// cronLogger routes robfig/cron's own log through slog: its per-wake chatter (start, wake, run,
// schedule) at debug, its errors at error. robfig names a job by its entry id ("entry", 1); the
// lines name the job instead ("job", "escalation"), as every other line of a run does.
type cronLogger struct {
	l       *slog.Logger
	jobName func(cron.EntryID) (string, bool)
}

func (c cronLogger) Info(msg string, keysAndValues ...any) {
	c.l.Debug("cron: "+msg, c.named(keysAndValues)...)
}

func (c cronLogger) Error(err error, msg string, keysAndValues ...any) {
	c.l.Error("cron: "+msg, append([]any{"error", err}, c.named(keysAndValues)...)...)
}

// named replaces robfig's "entry", id pairs with "job", name.
func (c cronLogger) named(kv []any) []any {
	out := make([]any, 0, len(kv))
	for i := 0; i < len(kv); i += 2 {
		if i+1 < len(kv) && kv[i] == "entry" && c.jobName != nil {
			if id, ok := kv[i+1].(cron.EntryID); ok {
				if name, ok := c.jobName(id); ok {
					out = append(out, "job", name)
					continue
				}
			}
		}
		out = append(out, kv[i])
		if i+1 < len(kv) {
			out = append(out, kv[i+1])
		}
	}
	return out
}
