package escalation

import (
	"encoding/json"
	"testing"
	"time"
)

// appendDetails writes what encoding/json writes for the same map.
func TestAppendDetailsIsEncodingJSON(t *testing.T) {
	for _, d := range []map[string]any{
		{},
		{"policy_id": int64(7), "responder_ids": []int64{4, 1}, "schedules": []scheduleRef{{ScheduleID: 100, ResponderID: 4}},
			"delay_minutes": int32(5), "next_escalation_at": time.Date(2027, 5, 3, 10, 5, 0, 123456000, time.UTC), "restart": "policy_changed"},
		{"schedules": []scheduleRef{}, "responder_ids": []int64{}, "already_paged_responder_ids": []int64{9}},
		{"problem": "schedule_invalid", "error": "zone \"Mars/Olympus\" <unknown>\n\tline\x01 é \xff", "schedule_problems": []string{"a", "b\""}},
		{"count": 3, "ok": true, "nested": map[string]any{"x": 1.5}},
	} {
		got, err := appendDetails(nil, d)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(d)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		_ = json.Unmarshal(want, &w)
		gs, _ := json.Marshal(g)
		ws, _ := json.Marshal(w)
		if string(gs) != string(ws) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	}
}
