package chart

import (
	"math"
	"strings"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// Bars stand on the plot's bottom, side by side in order, inside the plot, their heights
// proportional to their values on a scale rounded up to 1, 2 or 5 times a power of ten.
func TestBarsGeometry(t *testing.T) {
	b := Bars{Width: 244, Height: 128, Values: []float64{0, 3, 7, 1.5}, Labels: []string{"00", "", "02"}, Classes: []string{"", "", "bar failed"}}
	l := b.Layout()
	if l.Max != 10 {
		t.Fatalf("scale %v, want 10", l.Max)
	}
	if l.Plot.X != 44 || l.Plot.W != 194 || l.Plot.Y != 8 || l.Plot.H != 100 {
		t.Fatalf("plot %+v", l.Plot)
	}
	if len(l.Bars) != 4 {
		t.Fatalf("%d bars, want 4", len(l.Bars))
	}
	bottom := l.Plot.Y + l.Plot.H
	slot := l.Plot.W / 4
	for i, r := range l.Bars {
		if !near(r.Y+r.H, bottom) {
			t.Errorf("bar %d does not stand on the axis: %+v", i, r)
		}
		if !near(r.H, b.Values[i]*10) {
			t.Errorf("bar %d height %v, want %v", i, r.H, b.Values[i]*10)
		}
		if r.X < l.Plot.X || r.X+r.W > l.Plot.X+l.Plot.W+1e-9 || r.W <= 0 {
			t.Errorf("bar %d outside its plot: %+v", i, r)
		}
		if !near(r.X+r.W/2, l.Plot.X+slot*(float64(i)+0.5)) {
			t.Errorf("bar %d not centred in its slot: %+v", i, r)
		}
		if i > 0 && r.X <= l.Bars[i-1].X+l.Bars[i-1].W-1e-9 {
			t.Errorf("bars %d and %d overlap", i-1, i)
		}
	}
	if l.Bars[2].Class != "bar failed" || l.Bars[0].Class != "bar" {
		t.Errorf("classes %q %q", l.Bars[0].Class, l.Bars[2].Class)
	}
	if len(l.Labels) != 2 || l.Labels[1].Label != "02" || !near(l.Labels[1].X, l.Bars[2].X+l.Bars[2].W/2) {
		t.Errorf("labels %+v", l.Labels)
	}
	if len(l.Ticks) != 3 || l.Ticks[0].Label != "0" || l.Ticks[1].Label != "5" || l.Ticks[2].Label != "10" || !near(l.Ticks[2].Y, l.Plot.Y) {
		t.Errorf("ticks %+v", l.Ticks)
	}
}

func TestBarsEmptyAndZero(t *testing.T) {
	l := Bars{Width: 100, Height: 60, Values: make([]float64, 24)}.Layout()
	if l.Max != 1 || len(l.Bars) != 24 {
		t.Fatalf("max %v, %d bars", l.Max, len(l.Bars))
	}
	for _, r := range l.Bars {
		if r.H != 0 {
			t.Fatalf("a zero bar has height %v", r.H)
		}
	}
	if l := (Bars{Width: 100, Height: 60}).Layout(); len(l.Bars) != 0 || len(l.Ticks) != 3 {
		t.Fatalf("no values: %+v", l)
	}
}

func TestNiceCeil(t *testing.T) {
	for v, want := range map[float64]float64{0: 1, 0.3: 0.5, 1: 1, 1.01: 2, 3: 5, 7: 10, 10: 10, 11: 20, 250: 500, 0.012: 0.02} {
		if got := niceCeil(v); !near(got, want) {
			t.Errorf("niceCeil(%v) = %v, want %v", v, got, want)
		}
	}
}

var day0 = time.Date(2027, 5, 3, 0, 0, 0, 0, time.UTC)

func hours(n float64) time.Time { return day0.Add(time.Duration(n * float64(time.Hour))) }

// A timeline maps the window linearly onto the plot, clips spans to it, stacks lanes one under
// another and labels only spans wide enough.
func TestTimelineGeometry(t *testing.T) {
	tl := Timeline{From: day0, To: hours(24), Width: 340, LabelWidth: 100, RowHeight: 20, Now: hours(6),
		Ticks: []Tick{{At: hours(0), Label: "Mon"}, {At: hours(12), Label: "noon"}, {At: hours(24), Label: "Tue"}},
		Lanes: []Lane{
			{Label: "layer", Rows: [][]Span{{
				{Start: hours(-6), End: hours(6), Label: "Anna", Class: "p1"}, // starts before the window
				{Start: hours(6), End: hours(7), Label: "a long name", Class: "p2"},
				{Start: hours(7), End: hours(30), Label: "Ben", Class: "p1"}, // ends after it
				{Start: hours(30), End: hours(40), Label: "outside"},
			}}},
			{Label: "overrides", Rows: Stack([]Span{{Start: hours(2), End: hours(5)}, {Start: hours(1), End: hours(3)}, {Start: hours(4), End: hours(6)}})},
		}}
	l := tl.Layout()
	if len(l.Lanes) != 2 {
		t.Fatalf("%d lanes", len(l.Lanes))
	}
	if l.Lanes[0].Spans != 3 || l.Lanes[1].Spans != 3 {
		t.Fatalf("spans drawn %d, %d; want 3, 3 (one outside the window)", l.Lanes[0].Spans, l.Lanes[1].Spans)
	}
	r := l.Rects
	if !near(r[0].X, 100) || !near(r[0].W, 60) { // 240 units for 24 h: 10 per hour
		t.Errorf("clipped start: %+v", r[0])
	}
	if !near(r[2].X, 170) || !near(r[2].X+r[2].W, 340) {
		t.Errorf("clipped end: %+v", r[2])
	}
	if r[0].Label != "Anna" || r[1].Label != "" || r[2].Label != "Ben" {
		t.Errorf("labels %q %q %q: a 10-unit span has no room for its label", r[0].Label, r[1].Label, r[2].Label)
	}
	// The overrides overlap three deep at most two at a time: two rows, the second lane below the first.
	if l.Lanes[1].H != 40 || l.Lanes[1].Y != l.Lanes[0].Y+l.Lanes[0].H+laneGap {
		t.Errorf("lanes %+v", l.Lanes)
	}
	if r[3].Y != r[4].Y || r[5].Y != r[3].Y+20 {
		t.Errorf("stacked rows: %+v %+v %+v", r[3], r[4], r[5])
	}
	if len(l.Ticks) != 2 || !near(l.Ticks[1].X, 220) {
		t.Errorf("ticks %+v (the window's end is not in it)", l.Ticks)
	}
	if !l.HasNow || !near(l.NowX, 160) {
		t.Errorf("now at %v (%v)", l.NowX, l.HasNow)
	}
	if !near(l.Height, l.Lanes[1].Y+l.Lanes[1].H+laneGap) {
		t.Errorf("height %v", l.Height)
	}
}

func TestStackUsesAsFewRowsAsOverlapNeeds(t *testing.T) {
	rows := Stack([]Span{{Start: hours(3), End: hours(4)}, {Start: hours(0), End: hours(2)}, {Start: hours(1), End: hours(3)}, {Start: hours(2), End: hours(5)}})
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2: %v", len(rows), rows)
	}
	for _, row := range rows {
		for i := 1; i < len(row); i++ {
			if row[i].Start.Before(row[i-1].End) {
				t.Fatalf("overlap in a row: %v", row)
			}
		}
	}
}

func TestSeconds(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.0004: "400µs", 0.25: "250ms", 1.5: "1.5s", 125: "2m5s", 120: "2m", 3600: "1h", 5400: "1h30m", 3601: "1h0m1s"} {
		if got := Seconds(v); got != want {
			t.Errorf("Seconds(%v) = %q, want %q", v, got, want)
		}
	}
}

// A count axis is whole numbers: every tick is a whole number, at most five steps of 1, 2 or 5
// times a power of ten, from 0 to a scale at or above the largest value.
func TestBarsCountsAxis(t *testing.T) {
	for top, want := range map[float64][]string{
		0: {"0", "1"}, 1: {"0", "1"}, 2: {"0", "1", "2"}, 3: {"0", "1", "2", "3"}, 5: {"0", "1", "2", "3", "4", "5"},
		7: {"0", "2", "4", "6", "8"}, 13: {"0", "5", "10", "15"}, 100: {"0", "20", "40", "60", "80", "100"}, 2.2: {"0", "1", "2", "3"},
	} {
		l := Bars{Width: 200, Height: 128, Values: []float64{top / 2, top}, Counts: true}.Layout()
		var got []string
		for _, tk := range l.Ticks {
			got = append(got, tk.Label)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("top %v: ticks %v, want %v", top, got, want)
		}
		if !near(l.Ticks[len(l.Ticks)-1].Y, l.Plot.Y) || !near(l.Ticks[0].Y, l.Plot.Y+l.Plot.H) {
			t.Errorf("top %v: the axis does not span the plot: %+v", top, l.Ticks)
		}
	}
	for top := 0; top <= 5000; top++ {
		l := Bars{Width: 200, Height: 128, Values: []float64{float64(top)}, Counts: true}.Layout()
		if l.Max < float64(top) || len(l.Ticks) < 2 || len(l.Ticks) > maxCountTicks+1 {
			t.Fatalf("top %d: scale %v, %d ticks", top, l.Max, len(l.Ticks))
		}
		for _, tk := range l.Ticks {
			if strings.ContainsAny(tk.Label, ".e") {
				t.Fatalf("top %d: tick %q is not a whole number", top, tk.Label)
			}
		}
		if l.Bars[0].H > l.Plot.H+1e-9 {
			t.Fatalf("top %d: the bar is taller than the plot", top)
		}
	}
}

// A lane's label is never cut: a long one wraps onto lines that fit its column and give the
// whole label back, and its lane grows to hold them; with LabelWidth 0 the column fits the
// longest label, within a quarter of the chart.
func TestTimelineLabelsWhole(t *testing.T) {
	long := "Layer 2: Primary (office hours, Monday to Friday)"
	tl := Timeline{From: day0, To: hours(24), Width: 1200, RowHeight: 22,
		Lanes: []Lane{{Label: long, Rows: [][]Span{{{Start: hours(1), End: hours(2)}}}}, {Label: "On call"}}}
	l := tl.Layout()
	lw := l.Lanes[0].Plot.X
	if lw > 300+1e-9 || lw < minLabelWidth {
		t.Fatalf("label column %v, want at most a quarter of 1200", lw)
	}
	var words []string
	for _, line := range l.Lanes[0].Label {
		if w := float64(len([]rune(line.Label)))*labelCharWidth + labelPad; w > lw {
			t.Errorf("line %q is %v wide, the column %v", line.Label, w, lw)
		}
		if line.Y < l.Lanes[0].Y || line.Y > l.Lanes[0].Y+l.Lanes[0].H {
			t.Errorf("line %q at %v, outside its lane %+v", line.Label, line.Y, l.Lanes[0])
		}
		words = append(words, line.Label)
	}
	if strings.Join(words, " ") != long {
		t.Errorf("label lines %q, want the whole %q", words, long)
	}
	if got := l.Rects[0]; got.Y < l.Lanes[0].Y || got.Y+got.H > l.Lanes[0].Y+l.Lanes[0].H {
		t.Errorf("span %+v outside its lane %+v", got, l.Lanes[0])
	}
	// Short labels: a column just wide enough, one line each.
	short := Timeline{From: day0, To: hours(24), Width: 1200, RowHeight: 22, Lanes: []Lane{{Label: "Layer 1: Daily"}, {Label: "On call"}}}.Layout()
	if w := short.Lanes[0].Plot.X; w >= lw || w < float64(len("Layer 1: Daily"))*labelCharWidth || len(short.Lanes[0].Label) != 1 {
		t.Errorf("short labels: column %v, %d lines", w, len(short.Lanes[0].Label))
	}
	for in, want := range map[string]string{"": "", "a b": "a b", "abcdefghij": "abcd|efgh|ij", "ab cd ef": "ab|cd|ef", "abc  de": "abc|de"} {
		if got := strings.Join(wrap(in, 4), "|"); got != want {
			t.Errorf("wrap(%q, 4) = %q, want %q", in, got, want)
		}
	}
}

// A duration axis steps as a clock does: at most five steps of a clock's units, from 0 to a
// scale at or above the longest value.
func TestBarsDurationsAxis(t *testing.T) {
	for top, want := range map[float64]string{
		0: "0 1s", 0.1: "0 20ms 40ms 60ms 80ms 100ms", 0.8: "0 200ms 400ms 600ms 800ms", 3: "0 1s 2s 3s",
		141: "0 30s 1m 1m30s 2m 2m30s", 250: "0 1m 2m 3m 4m 5m", 500: "0 2m 4m 6m 8m 10m", 4000: "0 15m 30m 45m 1h 1h15m", 30000: "0 2h 4h 6h 8h 10h",
	} {
		l := Bars{Width: 200, Height: 128, Values: []float64{top}, Durations: true}.Layout()
		var got []string
		for _, tk := range l.Ticks {
			got = append(got, tk.Label)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("top %v: ticks %q, want %q", top, strings.Join(got, " "), want)
		}
	}
	for top := 0.001; top < 3e6; top *= 1.07 {
		step, n := durationScale(top)
		if n < 1 || n > maxCountTicks || step*float64(n) < top*(1-1e-9) {
			t.Fatalf("top %v: %d steps of %v", top, n, step)
		}
	}
}
