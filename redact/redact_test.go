package redact

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want, secret string }{
		{"postgres://u:s3cret@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable", "s3cret"},
		{"postgres://u@h/db", "postgres://u@h/db", ""},
		{"postgres://u@h/db?password=s3cret&sslmode=disable", "postgres://u@h/db?password=xxxxx&sslmode=disable", "s3cret"},
		{"postgres://u:s3cret@h:notaport/db", "postgres://u:xxxxx@h:notaport/db", "s3cret"},
		{"postgres://u:s3c@ret@h/db", "postgres://u:xxxxx@h/db", "s3c@ret"},
		{"postgres://u:s3?cret@h/db", "postgres://u:xxxxx@h/db", "s3?cret"},
		{"postgres://u:s3cr/et@h/db", "postgres://u:xxxxx@h/db", "s3cr/et"},
		{"postgres://u:s3#cret@h/db", "postgres://u:xxxxx@h/db", "s3#cret"},
		{"postgres://u:s3%23cret@h1:5432,h2:5432/db", "postgres://u:xxxxx@h1:5432,h2:5432/db", "s3#cret"},
		{"host=h user=u password=s3cret dbname=d", "host=h user=u password=xxxxx dbname=d", "s3cret"},
		{"host=h password = 's3 cret' dbname=d", "host=h password = xxxxx dbname=d", "s3 cret"},
	} {
		got := ConnString(tc.in)
		if got != tc.want {
			t.Errorf("ConnString(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if tc.secret != "" {
			found := false
			for _, s := range ConnSecrets(tc.in) {
				found = found || s == tc.secret
			}
			if !found || strings.Contains(got, tc.secret) {
				t.Errorf("ConnSecrets(%q) = %q, want it to hold %q", tc.in, ConnSecrets(tc.in), tc.secret)
			}
		}
	}
}
