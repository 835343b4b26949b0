package chart

import (
	"math"
	"slices"
	"time"
)

// Timeline is a chart of lanes over a window of time [From, To): each lane has rows of spans,
// drawn as rectangles from their start to their end, clipped to the window.
type Timeline struct {
	From, To time.Time
	// Width is the whole chart's; LabelWidth of it holds the lanes' labels at the left.
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
	// narrower than its label draws none.
	charWidth = 6.2
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

// LaneLayout is where a lane lies: its band from Y to Y+H, and its label.
type LaneLayout struct {
	Y, H  float64
	Label Text
	Class string
	Plot  Rect // the lane's band over the window, for a background
	Spans int  // how many spans it draws
}

// TickLayout is a grid line from Y1 to Y2 at X, labelled above.
type TickLayout struct {
	X, Y1, Y2 float64
	Label     Text
}

// X returns the horizontal position of t, clamped to the window.
func (tl Timeline) X(t time.Time) float64 {
	plot := tl.Width - tl.LabelWidth
	total := tl.To.Sub(tl.From).Seconds()
	if total <= 0 {
		return tl.LabelWidth
	}
	f := t.Sub(tl.From).Seconds() / total
	return tl.LabelWidth + math.Min(1, math.Max(0, f))*plot
}

// Layout computes the timeline's geometry.
func (tl Timeline) Layout() TimelineLayout {
	out := TimelineLayout{Width: tl.Width}
	y := float64(tickRoom)
	for _, lane := range tl.Lanes {
		rows := max(1, len(lane.Rows))
		h := float64(rows) * tl.RowHeight
		ll := LaneLayout{Y: y, H: h, Class: lane.Class,
			Label: Text{X: 4, Y: y + h/2 + 4, Label: lane.Label},
			Plot:  Rect{X: tl.LabelWidth, Y: y, W: tl.Width - tl.LabelWidth, H: h, Class: "lane"}}
		for r, row := range lane.Rows {
			ry := y + float64(r)*tl.RowHeight
			for _, sp := range row {
				if !sp.End.After(tl.From) || !sp.Start.Before(tl.To) || !sp.End.After(sp.Start) {
					continue
				}
				x1, x2 := tl.X(sp.Start), tl.X(sp.End)
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
		x := tl.X(tk.At)
		out.Ticks = append(out.Ticks, TickLayout{X: x, Y1: tickRoom - 2, Y2: y - laneGap, Label: Text{X: x + 3, Y: tickRoom - 5, Label: tk.Label}})
	}
	if !tl.Now.IsZero() && !tl.Now.Before(tl.From) && tl.Now.Before(tl.To) {
		out.HasNow, out.NowX = true, tl.X(tl.Now)
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
