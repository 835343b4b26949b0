package report

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A tiled period that begins on the local day before (a move from UTC to America/Los_Angeles:
// Sunday 17:00 PDT to Tuesday 00:00) gets each local date's buckets: Sunday evening is off hours,
// Monday's business hours are business.
func TestHourBucketsOfATiledPeriod(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2027, 5, 10, 0, 0, 0, 0, time.UTC)
	edges, buckets := hourBuckets(start, start.Add(31*time.Hour), la)
	var got []string
	for i, e := range edges {
		got = append(got, fmt.Sprintf("%s %s", e.In(la).Format("Mon 15:04"), buckets[i]))
	}
	want := "Sun 17:00 off, Sun 22:00 sleep, Mon 08:00 business, Mon 18:00 off, Mon 22:00 sleep"
	if strings.Join(got, ", ") != want {
		t.Fatalf("buckets %s\nwant    %s", strings.Join(got, ", "), want)
	}
}

// A local day is cut as it always was, DST days included: New York's 2027-03-14 (Sunday, 23
// hours) has no business hours.
func TestHourBucketsOfALocalDay(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	d := civilDate{2027, time.March, 14}
	edges, buckets := hourBuckets(localInstant(d, 0, ny), localInstant(d.addDays(1), 0, ny), ny)
	var got []string
	for i, e := range edges {
		got = append(got, fmt.Sprintf("%s %s", e.In(ny).Format("15:04 MST"), buckets[i]))
	}
	if want := "00:00 EST sleep, 08:00 EDT off, 22:00 EDT sleep"; strings.Join(got, ", ") != want {
		t.Fatalf("buckets %s, want %s", strings.Join(got, ", "), want)
	}
}
