package chart

import (
	"strconv"
	"time"
)

func formatG(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// Seconds prints a number of seconds as a short duration for an axis: 0, 250ms, 1.5s, 2m0s.
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
	return d.Round(time.Second).String()
}
