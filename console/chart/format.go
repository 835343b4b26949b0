package chart

import (
	"strconv"
	"strings"
	"time"
)

func formatG(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// Seconds prints a number of seconds as a short duration for an axis: 0, 250ms, 1.5s, 2m, 2m5s,
// 1h30m.
func Seconds(v float64) string {
	if v == 0 {
		return "0"
	}
	d := time.Duration(v * float64(time.Second))
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	s := d.Round(time.Second).String()
	// Whole minutes and hours read as such: 2m, 1h, 1h30m.
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
