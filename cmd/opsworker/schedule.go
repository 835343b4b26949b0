package main

import (
	"context"
	"fmt"
)

// scheduleCmd prints what the current environment's specs mean: zone, next five firings, and
// how DST changes in the next twelve months touch them. It needs no database, so a person can
// try a spec from a .env file before deploying it.
func scheduleCmd(ctx context.Context, s ioStreams, args []string) int {
	if code, ok := parseNoArgs(s, "schedule", args); !ok {
		return code
	}
	cfg, _, code := setup(s)
	if code != exitOK {
		return code
	}
	now := cfg.loaded
	for i, tv := range taskVars {
		if i > 0 {
			fmt.Fprintln(s.stdout)
		}
		spec := cfg.specs[tv.task]
		fmt.Fprintf(s.stdout, "%s (%s)\n", tv.task, tv.variable)
		if spec == nil {
			fmt.Fprintln(s.stdout, "  off")
			continue
		}
		fmt.Fprintf(s.stdout, "  spec: %s\n  zone: %s\n", spec.Text, spec.Location)
		for j, t := range spec.Upcoming(now, 5) {
			label := "next:"
			if j > 0 {
				label = "     "
			}
			fmt.Fprintf(s.stdout, "  %s %s\n", label, t.Format("Mon 2006-01-02 15:04:05 MST"))
		}
		for _, n := range spec.DSTNotes(now, now.AddDate(1, 0, 0)) {
			fmt.Fprintf(s.stdout, "  DST:  %s\n", n.Text)
		}
	}
	return exitOK
}
