package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
)

// berlinDaily creates a daily Europe/Berlin rotation of Anna and Ben handing off at 09:00 from
// Saturday 2027-03-20 until 2027-12-01, and returns the database URL and the schedule id.
func berlinDaily(t *testing.T) (string, int64) {
	url := dbtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var id int64
	err = pool.QueryRow(context.Background(), `
		with t as (insert into tenants (id, name, time_zone) values ('acme', 'Acme', 'Europe/Berlin') returning id),
		     a as (insert into responders (tenant_id, name) select id, 'Anna' from t returning id),
		     b as (insert into responders (tenant_id, name) select id, 'Ben' from t returning id),
		     s as (insert into oncall_schedules (tenant_id, name, time_zone) select id, 'Ops', 'Europe/Berlin' from t returning id),
		     l as (insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants, ends_at)
		           select s.id, 'daily', 1, '2027-03-20T09:00:00+01:00', 1, 'day', array[a.id, b.id], '2027-12-01T00:00:00+01:00'
		             from s, a, b returning schedule_id)
		select schedule_id from l`).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return url, id
}

type shiftOut struct {
	ScheduleID int64 `json:"schedule_id"`
	Shifts     []struct {
		Start     time.Time `json:"start"`
		End       time.Time `json:"end"`
		Responder *struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"responder"`
	} `json:"shifts"`
}

func oncallRun(t *testing.T, url string, args ...string) (int, string, string) {
	t.Setenv("DATABASE_URL", url)
	t.Setenv("LOG_FORMAT", "json")
	var out, errb bytes.Buffer
	code := dispatch(context.Background(), ioStreams{&out, &errb}, append([]string{"oncall"}, args...))
	return code, out.String(), errb.String()
}

// The rotation keeps 09:00 local across both DST changes of 2027: the shift spanning the spring
// change lasts 23 hours, the one spanning the autumn change 25.
func TestOncallCommandAcrossDST(t *testing.T) {
	url, id := berlinDaily(t)
	for _, tc := range []struct {
		name, at, until string
		want            [][3]string // start, end, responder
	}{
		{"spring", "2027-03-26T00:00:00Z", "2027-03-30T00:00:00Z", [][3]string{
			{"2027-03-26T01:00:00+01:00", "2027-03-26T09:00:00+01:00", "Ben"},
			{"2027-03-26T09:00:00+01:00", "2027-03-27T09:00:00+01:00", "Anna"},
			{"2027-03-27T09:00:00+01:00", "2027-03-28T09:00:00+02:00", "Ben"},
			{"2027-03-28T09:00:00+02:00", "2027-03-29T09:00:00+02:00", "Anna"},
			{"2027-03-29T09:00:00+02:00", "2027-03-30T02:00:00+02:00", "Ben"},
		}},
		{"autumn", "2027-10-30T00:00:00Z", "2027-11-01T12:00:00Z", [][3]string{
			{"2027-10-30T02:00:00+02:00", "2027-10-30T09:00:00+02:00", "Ben"},
			{"2027-10-30T09:00:00+02:00", "2027-10-31T09:00:00+01:00", "Anna"},
			{"2027-10-31T09:00:00+01:00", "2027-11-01T09:00:00+01:00", "Ben"},
			{"2027-11-01T09:00:00+01:00", "2027-11-01T13:00:00+01:00", "Anna"},
		}},
		{"gap after the layer ends", "2027-11-30T12:00:00Z", "2027-12-01T12:00:00Z", [][3]string{
			{"2027-11-30T13:00:00+01:00", "2027-12-01T00:00:00+01:00", "Ben"},
			{"2027-12-01T00:00:00+01:00", "2027-12-01T13:00:00+01:00", ""},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := oncallRun(t, url, itoa(id), "--at", tc.at, "--until", tc.until, "--json")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var got shiftOut
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.ScheduleID != id || len(got.Shifts) != len(tc.want) {
				t.Fatalf("got %s", out)
			}
			for i, w := range tc.want {
				g := got.Shifts[i]
				name := ""
				if g.Responder != nil {
					name = g.Responder.Name
				}
				if g.Start.Format(time.RFC3339) != w[0] || g.End.Format(time.RFC3339) != w[1] || name != w[2] {
					t.Errorf("shift %d = %s %s %q, want %v", i, g.Start.Format(time.RFC3339), g.End.Format(time.RFC3339), name, w)
				}
			}
		})
	}
}

func TestOncallCommandAtAnInstant(t *testing.T) {
	url, id := berlinDaily(t)
	code, out, errs := oncallRun(t, url, itoa(id), "--at", "2027-03-28T07:30:00Z", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got struct {
		ScheduleID int64     `json:"schedule_id"`
		At         time.Time `json:"at"`
		OnCall     []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"on_call"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// 09:30 CEST on the spring-forward day: Anna's shift began at 09:00 CEST.
	if got.ScheduleID != id || got.At.Format(time.RFC3339) != "2027-03-28T09:30:00+02:00" || len(got.OnCall) != 1 || got.OnCall[0].Name != "Anna" {
		t.Fatalf("got %s", out)
	}

	code, out, _ = oncallRun(t, url, itoa(id), "--at", "2027-12-24T12:00:00Z")
	if code != exitOK || !strings.Contains(out, "Ops (schedule "+itoa(id)+", Europe/Berlin) at Fri 2027-12-24 13:00 CET") || !strings.Contains(out, "nobody is on call") {
		t.Fatalf("text for a gap:\n%s", out)
	}
	code, out, _ = oncallRun(t, url, itoa(id), "--at", "2027-03-27T07:00:00Z", "--until", "2027-03-28T12:00:00Z")
	if code != exitOK || !strings.Contains(out, "Sat 2027-03-27 09:00 CET  →  Sun 2027-03-28 09:00 CEST       23h  Ben") {
		t.Fatalf("text shifts:\n%s", out)
	}
}

func TestOncallCommandUnknownSchedule(t *testing.T) {
	url, _ := berlinDaily(t)
	code, _, errs := oncallRun(t, url, "999999")
	if code != exitFailure || !strings.Contains(errs, "there is no schedule 999999") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if code, _, _ := oncallRun(t, url, "abc"); code != exitUsage {
		t.Fatalf("a non-numeric id: exit %d", code)
	}
	if code, _, _ := oncallRun(t, url, "1", "--at", "2027-01-02T00:00:00Z", "--until", "2027-01-01T00:00:00Z"); code != exitUsage {
		t.Fatalf("--until before --at: exit %d", code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
