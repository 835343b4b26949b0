package scheduler

import (
	"fmt"
	"strconv"
	"strings"
)

// field is one field of a cron spec: its name for messages, the values it takes, and the names
// it accepts for them.
type field struct {
	name     string
	min, max int
	names    map[string]int
}

var (
	secondField = field{name: "second", min: 0, max: 59}
	specFields  = []field{
		{name: "minute", min: 0, max: 59},
		{name: "hour", min: 0, max: 23},
		{name: "day-of-month", min: 1, max: 31},
		{name: "month", min: 1, max: 12, names: map[string]int{
			"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}},
		{name: "day-of-week", min: 0, max: 6, names: map[string]int{
			"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}},
	}
)

// checkFields refuses what robfig/cron v3.0.1 would accept and misread: a step larger than its
// field's span (`*/61` in the minute field is minute 0 only, so it runs hourly; `*/90` in the
// seconds field runs every minute), or a step of 0. It also checks every value against its field,
// so that whatever is wrong with a field, the error names it: `minute field "*/61": step 61 is out
// of range 1-59`. Specs of another number of fields and descriptors are left to robfig.
func checkFields(spec string) error {
	fs := strings.Fields(spec)
	var names []field
	switch len(fs) {
	case 5:
		names = specFields
	case 6:
		names = append([]field{secondField}, specFields...)
	default:
		return nil
	}
	for i, text := range fs {
		if err := names[i].check(text); err != nil {
			return fmt.Errorf("%s field %q: %w", names[i].name, text, err)
		}
	}
	return nil
}

// check checks one field's text: a comma-separated list of `*`, `?`, a value or a range a-b,
// each with an optional /step.
func (f field) check(text string) error {
	for part := range strings.SplitSeq(text, ",") {
		rng, stepText, stepped := strings.Cut(part, "/")
		switch {
		case rng == "*" || rng == "?":
		default:
			lo, hi, isRange := strings.Cut(rng, "-")
			if err := f.checkValue(lo); err != nil {
				return err
			}
			if isRange {
				if err := f.checkValue(hi); err != nil {
					return err
				}
			}
		}
		if stepped {
			step, err := strconv.Atoi(stepText)
			if err != nil {
				return fmt.Errorf("step %q is not a number", stepText)
			}
			if span := f.max - f.min; step < 1 || step > span {
				return fmt.Errorf("step %d is out of range 1-%d", step, span)
			}
		}
	}
	return nil
}

// checkValue checks one value: a number within the field's range or one of its names.
func (f field) checkValue(text string) error {
	if _, ok := f.names[strings.ToLower(text)]; ok {
		return nil
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		return fmt.Errorf("%q is not a number", text)
	}
	if n < f.min || n > f.max {
		return fmt.Errorf("%d is out of range %d-%d", n, f.min, f.max)
	}
	return nil
}
