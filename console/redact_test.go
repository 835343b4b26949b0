package console

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opsworker/opsworker/dbtest"
)

// Neither the API nor the page shows an address's credentials, even in rows stored before
// delivery redacted them: pages' and deliveries' last_error, River's attempt errors and events'
// details come masked.
func TestTimelineHidesAddressCredentials(t *testing.T) {
	f := newFixture(t)
	const token = "s3cretTOKENxyzzy"
	leak := `Post "https://hooks.slack.com/services/T0/B0/` + token + `": dial tcp: connection refused; then https://hooks.example.com/in?token=` + token
	alert := f.alerts[0]
	dbtest.Exec(t, f.pool, `update notifications set last_error = $2 where alert_id = $1`, alert, leak)
	dbtest.Exec(t, f.pool, `update deliveries d set last_error = $2 from notifications n where n.id = d.notification_id and n.alert_id = $1`, alert, leak)
	dbtest.Exec(t, f.pool, `update river_job set errors = array[jsonb_build_object('attempt', 1, 'at', '2027-05-04T08:00:00Z', 'error', $1::text)]
		where kind = 'delivery'`, leak)
	dbtest.Exec(t, f.pool, `insert into alert_events (tenant_id, alert_id, at, event, details) values ('acme', $1, now(), 'delivery_failed',
		jsonb_build_object('error', $2::text))`, alert, leak)
	for _, path := range []string{fmt.Sprintf("/api/v1/alerts/%d/timeline", alert), fmt.Sprintf("/ui/alerts/%d", alert)} {
		rec := f.get(path)
		body := rec.Body.String()
		if rec.Code != 200 || strings.Contains(body, token) || !strings.Contains(body, "/services/T0/B0/***") {
			t.Errorf("%s: %d, token shown %v:\n%s", path, rec.Code, strings.Contains(body, token), body)
		}
	}
}
