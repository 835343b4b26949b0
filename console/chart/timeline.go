package chart

import (
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Timeline is a chart of lanes over a window of time [From, To): each lane has rows of spans,
// drawn as rectangles from their start to their end, clipped to the window.
type Timeline struct {
	From, To time.Time
	// Width is the whole chart's; LabelWidth of it holds the lanes' labels at the left. With
	// LabelWidth 0 the column is as wide as the longest label needs, within a quarter of the
	// chart. A label wider than its column wraps at spaces onto as many lines as it needs (the
	// lane grows to hold them): a label is never cut.
	Width, LabelWidth float64
	RowHeight         float64
	Lanes             []Lane
	// Ticks are vertical grid lines with a label above the lanes (a day's start, say).
	Ticks []Tick
	// Now draws a line at that instant when it lies in the window (zero: none).
	Now time.Time
}

// Lane is one labelled band of a timeline; spans of one row must not overlap (a lane with
// overlapping spans, such as overrides, puts them on rows of their own: see Stack).
type Lane struct {
	Label string
	Class string
	Rows  [][]Span
}

// Span is a stretch of time to draw.
type Span struct {
	Start, End time.Time
	Label      string // drawn inside when it fits
	Class      string
	Title      string
}

// Tick is a grid line.
type Tick struct {
	At    time.Time
	Label string
}

// Geometry of a timeline: room above the lanes for the ticks' labels, and between lanes.
const (
	tickRoom = 16
	laneGap  = 6
	// charWidth is a label character's width, roughly, at the style sheet's font size: a span
	// narrower than its label draws none. Lane labels are bold, so a little wider.
	charWidth      = 6.2
	labelCharWidth = 7.0
	// labelPad is the room left and right of a lane's label; labelLine a line's height.
	labelPad  = 6
	labelLine = 14
	// minLabelWidth is the narrowest label column LabelWidth 0 gives.
	minLabelWidth = 80
)

// TimelineLayout is a timeline's geometry.
type TimelineLayout struct {
	Width, Height float64
	Lanes         []LaneLayout
	Rects         []Rect
	Ticks         []TickLayout
	HasNow        bool
	NowX          float64
}

// LaneLayout is where a lane lies: its band from Y to Y+H, and its label, one Text per line.
type LaneLayout struct {
	Y, H  float64
	Label []Text
	Class string
	Plot  Rect // the lane's band over the window, for a background
	Spans int  // how many spans it draws
}

// TickLayout is a grid line from Y1 to Y2 at X, labelled above.
type TickLayout struct {
	X, Y1, Y2 float64
	Label     Text
}

// labelWidth returns the width of the label column: LabelWidth, or the widest label's need
// within [minLabelWidth, Width/4].
func (tl Timeline) labelWidth() float64 {
	if tl.LabelWidth > 0 {
		return tl.LabelWidth
	}
	need := 0.0
	for _, l := range tl.Lanes {
		need = math.Max(need, float64(utf8.RuneCountInString(l.Label))*labelCharWidth+2*labelPad)
	}
	return math.Max(minLabelWidth, math.Min(need, tl.Width/4))
}

// wrap breaks label into lines of at most width runes, at spaces; a word longer than a line is
// broken where the line ends. Joined with spaces, the lines give the label back (runs of spaces
// aside).
func wrap(label string, width int) []string {
	width = max(1, width)
	var lines []string
	line := ""
	for _, word := range strings.Fields(label) {
		for utf8.RuneCountInString(word) > width {
			if line != "" {
				lines, line = append(lines, line), ""
			}
			r := []rune(word)
			lines, word = append(lines, string(r[:width])), string(r[width:])
		}
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= width:
			line += " " + word
		default:
			lines, line = append(lines, line), word
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

// X returns the horizontal position of t, clamped to the window.
func (tl Timeline) X(t time.Time) float64 {
	return tl.x(t, tl.labelWidth())
}

func (tl Timeline) x(t time.Time, labelWidth float64) float64 {
	plot := tl.Width - labelWidth
	total := tl.To.Sub(tl.From).Seconds()
	if total <= 0 {
		return labelWidth
	}
	f := t.Sub(tl.From).Seconds() / total
	return labelWidth + math.Min(1, math.Max(0, f))*plot
}

// Layout computes the timeline's geometry.
func (tl Timeline) Layout() TimelineLayout {
	out := TimelineLayout{Width: tl.Width}
	lw := tl.labelWidth()
	perLine := int((lw - 2*labelPad) / labelCharWidth)
	y := float64(tickRoom)
	for _, lane := range tl.Lanes {
		rows := max(1, len(lane.Rows))
		lines := wrap(lane.Label, perLine)
		h := math.Max(float64(rows)*tl.RowHeight, float64(len(lines))*labelLine+4)
		ll := LaneLayout{Y: y, H: h, Class: lane.Class,
			Plot: Rect{X: lw, Y: y, W: tl.Width - lw, H: h, Class: "lane"}}
		top := y + h/2 - float64(len(lines))*labelLine/2
		for i, line := range lines {
			ll.Label = append(ll.Label, Text{X: 4, Y: top + float64(i)*labelLine + labelLine - 3, Label: line})
		}
		rowsTop := y + (h-float64(rows)*tl.RowHeight)/2 // rows centred beside a label of several lines
		for r, row := range lane.Rows {
			ry := rowsTop + float64(r)*tl.RowHeight
			for _, sp := range row {
				if !sp.End.After(tl.From) || !sp.Start.Before(tl.To) || !sp.End.After(sp.Start) {
					continue
				}
				x1, x2 := tl.x(sp.Start, lw), tl.x(sp.End, lw)
				rect := Rect{X: x1, Y: ry + 1, W: x2 - x1, H: tl.RowHeight - 2, Class: sp.Class, Title: sp.Title}
				if sp.Label != "" && float64(len([]rune(sp.Label)))*charWidth+6 <= rect.W {
					rect.Label, rect.LabelX, rect.LabelY = sp.Label, x1+3, ry+tl.RowHeight/2+4
				}
				out.Rects = append(out.Rects, rect)
				ll.Spans++
			}
		}
		out.Lanes = append(out.Lanes, ll)
		y += h + laneGap
	}
	out.Height = y
	for _, tk := range tl.Ticks {
		if tk.At.Before(tl.From) || !tk.At.Before(tl.To) {
			continue
		}
		x := tl.x(tk.At, lw)
		out.Ticks = append(out.Ticks, TickLayout{X: x, Y1: tickRoom - 2, Y2: y - laneGap, Label: Text{X: x + 3, Y: tickRoom - 5, Label: tk.Label}})
	}
	if !tl.Now.IsZero() && !tl.Now.Before(tl.From) && tl.Now.Before(tl.To) {
		out.HasNow, out.NowX = true, tl.x(tl.Now, lw)
	}
	return out
}

// Stack puts spans on as few rows as possible so that no two on a row overlap, in order of
// their start (greedy interval partitioning, which is optimal): overrides may overlap, and a
// lane draws them one above another.
func Stack(spans []Span) [][]Span {
	sorted := slices.Clone(spans)
	slices.SortStableFunc(sorted, func(a, b Span) int { return a.Start.Compare(b.Start) })
	var rows [][]Span
	for _, sp := range sorted {
		placed := false
		for i, row := range rows {
			if !row[len(row)-1].End.After(sp.Start) {
				rows[i] = append(row, sp)
				placed = true
				break
			}
		}
		if !placed {
			rows = append(rows, []Span{sp})
		}
	}
	return rows
}
