package chart

import (
	"math"
	"strconv"
)

// Rect is a rectangle to draw, in SVG user units, with its style class and tooltip.
type Rect struct {
	X, Y, W, H float64
	Class      string
	Title      string
	// Label is drawn inside the rectangle at (LabelX, LabelY) when it fits (empty otherwise).
	Label          string
	LabelX, LabelY float64
}

// Text is a label at a point.
type Text struct {
	X, Y  float64
	Label string
}

// Bars is a vertical bar chart: one bar per value, scaled so that the largest value (rounded up
// to 1, 2 or 5 times a power of ten) reaches the top of the plot.
//
// Counts (alerts, pages) are whole numbers, and their axis says so: with Counts set the scale is
// a whole number and every tick is one, a whole step of 1, 2 or 5 times a power of ten apart (no
// "2.5 alerts").
type Bars struct {
	// Width and Height are the whole chart's, margins for the axes' labels included.
	Width, Height float64
	Values        []float64 // not negative; one bar each
	// Labels label the bars below the axis ("" for none); Classes style them (default "bar");
	// Titles are their tooltips. Each may be shorter than Values.
	Labels, Classes, Titles []string
	// Format prints the vertical axis' values; default %g.
	Format func(float64) string
	// Counts makes the vertical axis whole numbers (see above).
	Counts bool
	// Durations makes the vertical axis seconds, in steps a clock has (250ms, 5s, 30s, 2m, 15m,
	// 1h, …), printed by Format (default Seconds).
	Durations bool
}

// Margins of the plot inside a chart: room for the vertical axis' labels at the left and the
// bars' labels below.
const (
	marginLeft   = 44
	marginRight  = 6
	marginTop    = 8
	marginBottom = 20
)

// BarsLayout is a bar chart's geometry.
type BarsLayout struct {
	Width, Height float64
	// Plot is the area the bars stand in; bars stand on its bottom edge.
	Plot   Rect
	Bars   []Rect // one per value, in order, zero-height ones included
	Labels []Text // the bars' labels, centred under them
	// Ticks are the vertical axis: 0, half the scale and the scale, at their heights; for counts
	// every whole step from 0 to the scale.
	Ticks []Text
	Max   float64
}

// Layout computes the chart's geometry.
func (b Bars) Layout() BarsLayout {
	plot := Rect{X: marginLeft, Y: marginTop, W: b.Width - marginLeft - marginRight, H: b.Height - marginTop - marginBottom}
	out := BarsLayout{Width: b.Width, Height: b.Height, Plot: plot}
	top := 0.0
	for _, v := range b.Values {
		top = math.Max(top, v)
	}
	format := b.Format
	if format == nil {
		format = formatG
	}
	bottom := plot.Y + plot.H
	switch {
	case b.Counts || b.Durations:
		step, n := countScale(top)
		label := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
		if b.Durations {
			step, n = durationScale(top)
			label = format
			if b.Format == nil {
				label = Seconds
			}
		}
		out.Max = step * float64(n)
		for i := range n + 1 {
			v := step * float64(i)
			out.Ticks = append(out.Ticks, Text{X: plot.X - 4, Y: bottom - v/out.Max*plot.H, Label: label(v)})
		}
	default:
		out.Max = niceCeil(top)
		for _, f := range []float64{0, 0.5, 1} {
			out.Ticks = append(out.Ticks, Text{X: plot.X - 4, Y: bottom - f*plot.H, Label: format(f * out.Max)})
		}
	}
	n := len(b.Values)
	if n == 0 {
		return out
	}
	slot := plot.W / float64(n)
	gap := math.Min(2, slot*0.2)
	for i, v := range b.Values {
		h := 0.0
		if out.Max > 0 {
			h = math.Max(0, v) / out.Max * plot.H
		}
		x := plot.X + float64(i)*slot
		r := Rect{X: x + gap/2, Y: bottom - h, W: slot - gap, H: h, Class: at(b.Classes, i, "bar"), Title: at(b.Titles, i, "")}
		out.Bars = append(out.Bars, r)
		if l := at(b.Labels, i, ""); l != "" {
			out.Labels = append(out.Labels, Text{X: x + slot/2, Y: bottom + 14, Label: l})
		}
	}
	return out
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten; 1 for v <= 0, so an empty chart has
// an axis.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p*(1+1e-12) {
			return m * p
		}
	}
	return 10 * p
}

// maxCountTicks is how many steps a count axis has at most.
const maxCountTicks = 5

// countScale returns the axis of counts up to top: a whole step of 1, 2 or 5 times a power of
// ten, and n steps (1 to maxCountTicks) from 0 to the first multiple of step at or above top.
// An empty chart (top 0) gets an axis from 0 to 1.
func countScale(top float64) (step float64, n int) {
	top = math.Ceil(top)
	if top < 1 {
		return 1, 1
	}
	for p := 1.0; ; p *= 10 {
		for _, m := range []float64{1, 2, 5} {
			step = m * p
			if n := math.Ceil(top / step); n <= maxCountTicks {
				return step, int(n)
			}
		}
	}
}

// clockSteps are the steps of a duration axis from a second up, in seconds; below a second
// and beyond the last the steps are 1, 2 or 5 times a power of ten (of seconds, of days).
var clockSteps = []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400}

// durationScale returns the axis of durations up to top seconds, as countScale does counts.
func durationScale(top float64) (step float64, n int) {
	if top <= 0 {
		return 1, 1
	}
	fits := func(step float64) (int, bool) {
		n := math.Ceil(top/step - 1e-9)
		return int(max(n, 1)), n <= maxCountTicks
	}
	if top < 1 {
		for p := math.Pow(10, math.Floor(math.Log10(top))-1); ; p *= 10 {
			for _, m := range []float64{1, 2, 5} {
				if n, ok := fits(m * p); ok {
					return m * p, n
				}
			}
		}
	}
	for _, step := range clockSteps {
		if n, ok := fits(step); ok {
			return step, n
		}
	}
	for p := 86400.0; ; p *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if n, ok := fits(m * p); ok {
				return m * p, n
			}
		}
	}
}

func at(s []string, i int, def string) string {
	if i < len(s) && s[i] != "" {
		return s[i]
	}
	return def
}
