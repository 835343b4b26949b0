package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/civil"
)

// instantFlag returns the instant given by the RFC 3339 flag name, or def when the flag is absent.
// An empty value, one that is not RFC 3339, and an instant outside the supported range are usage
// errors that name the flag: a job or the resolver must never run at an instant it cannot answer
// for, nor at the clock's now when a person asked for another.
func instantFlag(cmd *cobra.Command, name string, def time.Time) (time.Time, error) {
	f := cmd.Flags().Lookup(name)
	if f == nil || !f.Changed {
		return def, nil
	}
	t, err := civil.ParseInstant("--"+name, f.Value.String())
	if err != nil {
		return time.Time{}, usageErrorf("%v", err)
	}
	return t, nil
}
