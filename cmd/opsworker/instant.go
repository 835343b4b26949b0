package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
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
	v := f.Value.String()
	if v == "" {
		return time.Time{}, usageErrorf("--%s is empty: give an RFC 3339 instant such as 2027-05-03T10:00:00Z", name)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, usageErrorf("--%s %q is not an RFC 3339 instant such as 2027-05-03T10:00:00Z", name, v)
	}
	if err := checkRange(t); err != nil {
		return time.Time{}, usageErrorf("--%s: %v", name, err)
	}
	return t, nil
}

// The supported range of instants. TODO(civil): replace with civil.CheckRange.
var (
	minInstant = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxInstant = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func checkRange(t time.Time) error {
	if t.Before(minInstant) || !t.Before(maxInstant) {
		return fmt.Errorf("%s is outside the supported range %s to %s", t.Format(time.RFC3339Nano),
			minInstant.Format(time.RFC3339), maxInstant.Add(-time.Second).Format(time.RFC3339))
	}
	return nil
}
