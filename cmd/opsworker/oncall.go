package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/opsworker/opsworker/oncall"
)

// maxWindow bounds --until: a timeline is computed event by event, but printing years of hourly
// shifts helps nobody.
const maxWindow = 366 * 24 * time.Hour

// oncallCmd answers who is on call for a schedule: at one instant, or as shifts over a window.
func oncallCmd(ctx context.Context, s ioStreams, args []string) int {
	fs := flags(s, "oncall")
	atFlag := fs.String("at", "", "the RFC 3339 instant to ask about, or the window's start with --until (default: now)")
	untilFlag := fs.String("until", "", "print the shifts from --at to this RFC 3339 instant")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	pos, code, ok := parseFlags(fs, s, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(s.stderr, "opsworker oncall: name one SCHEDULE_ID")
		return exitUsage
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(s.stderr, "opsworker oncall: SCHEDULE_ID %q is not a schedule id (a positive whole number)\n", pos[0])
		return exitUsage
	}
	at := time.Now()
	if *atFlag != "" {
		if at, err = time.Parse(time.RFC3339, *atFlag); err != nil {
			fmt.Fprintf(s.stderr, "opsworker oncall: --at %q is not an RFC 3339 time such as 2027-05-03T10:00:00Z\n", *atFlag)
			return exitUsage
		}
	}
	var until time.Time
	if *untilFlag != "" {
		if until, err = time.Parse(time.RFC3339, *untilFlag); err != nil {
			fmt.Fprintf(s.stderr, "opsworker oncall: --until %q is not an RFC 3339 time such as 2027-05-10T10:00:00Z\n", *untilFlag)
			return exitUsage
		}
		if !until.After(at) || until.Sub(at) > maxWindow {
			fmt.Fprintf(s.stderr, "opsworker oncall: --until must be after --at and at most %d days later\n", int(maxWindow.Hours()/24))
			return exitUsage
		}
	}

	cfg, log, code := setup(s)
	if code != exitOK {
		return code
	}
	pool, err := connect(ctx, cfg, log, false)
	if err != nil {
		log.Error("cannot read the schedule", "schedule_id", id, "error", err)
		return exitFailure
	}
	defer pool.Close()
	sched, err := oncall.Load(ctx, pool, id, at)
	if errors.Is(err, oncall.ErrNotFound) {
		fmt.Fprintf(s.stderr, "opsworker oncall: there is no schedule %d\n", id)
		return exitFailure
	}
	if err != nil {
		fmt.Fprintf(s.stderr, "opsworker oncall: %v\n", err)
		return exitFailure
	}

	if until.IsZero() {
		r, ok := sched.OnCall(at)
		if *asJSON {
			return printJSON(s.stdout, onCallJSON{ScheduleID: id, At: at.In(sched.Location), OnCall: responders(r, ok)})
		}
		fmt.Fprintf(s.stdout, "%s (schedule %d, %s) at %s\n", sched.Name, id, sched.Location, at.In(sched.Location).Format(humanTime))
		if ok {
			fmt.Fprintf(s.stdout, "  on call: %s (responder %d)\n", r.Name, r.ID)
		} else {
			fmt.Fprintln(s.stdout, "  nobody is on call (a gap)")
		}
		return exitOK
	}

	shifts := sched.Shifts(at, until)
	if *asJSON {
		out := shiftsJSON{ScheduleID: id, Shifts: make([]shiftJSON, 0, len(shifts))}
		for _, sh := range shifts {
			var r *responderJSON
			if sh.Responder != nil {
				r = &responderJSON{ID: sh.Responder.ID, Name: sh.Responder.Name}
			}
			out.Shifts = append(out.Shifts, shiftJSON{Start: sh.Start.In(sched.Location), End: sh.End.In(sched.Location), Responder: r})
		}
		return printJSON(s.stdout, out)
	}
	fmt.Fprintf(s.stdout, "%s (schedule %d, %s), %s to %s\n", sched.Name, id, sched.Location,
		at.In(sched.Location).Format(humanTime), until.In(sched.Location).Format(humanTime))
	for _, sh := range shifts {
		who := "GAP: nobody on call"
		if sh.Responder != nil {
			who = fmt.Sprintf("%s (responder %d)", sh.Responder.Name, sh.Responder.ID)
		}
		fmt.Fprintf(s.stdout, "  %s  →  %s  %8s  %s\n", sh.Start.In(sched.Location).Format(humanTime),
			sh.End.In(sched.Location).Format(humanTime), hours(sh.End.Sub(sh.Start)), who)
	}
	return exitOK
}

const humanTime = "Mon 2006-01-02 15:04 MST"

func hours(d time.Duration) string {
	return strconv.FormatFloat(d.Hours(), 'f', -1, 64) + "h"
}

// The JSON shapes DESIGN.md promises.
type (
	responderJSON struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	onCallJSON struct {
		ScheduleID int64           `json:"schedule_id"`
		At         time.Time       `json:"at"`
		OnCall     []responderJSON `json:"on_call"`
	}
	shiftJSON struct {
		Start     time.Time      `json:"start"`
		End       time.Time      `json:"end"`
		Responder *responderJSON `json:"responder"`
	}
	shiftsJSON struct {
		ScheduleID int64       `json:"schedule_id"`
		Shifts     []shiftJSON `json:"shifts"`
	}
)

func responders(r oncall.Responder, ok bool) []responderJSON {
	if !ok {
		return []responderJSON{}
	}
	return []responderJSON{{ID: r.ID, Name: r.Name}}
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		return exitFailure
	}
	return exitOK
}
