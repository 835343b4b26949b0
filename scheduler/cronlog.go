package scheduler

import "log/slog"

// cronLogger routes robfig/cron's own log through slog: its per-wake chatter (start, wake, run,
// schedule) at debug, its errors at error.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, keysAndValues ...any) {
	c.l.Debug("cron: "+msg, keysAndValues...)
}

func (c cronLogger) Error(err error, msg string, keysAndValues ...any) {
	c.l.Error("cron: "+msg, append([]any{"error", err}, keysAndValues...)...)
}
