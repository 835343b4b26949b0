package sql

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:s3cret@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db":                             "postgres://u@h/db",
		"postgres://u@h/db?password=s3cret":             "postgres://u@h/db?password=xxxxx",
		"postgres://u:s3cret@h:notaport/db":             "postgres://u:xxxxx@h:notaport/db",
		"postgres://u:s3c@ret@h/db":                     "postgres://u:xxxxx@h/db",
		"host=h user=u password=s3cret dbname=d":        "host=h user=u password=xxxxx dbname=d",
		"host=h password = 's3 cret' dbname=d":          "host=h password = xxxxx dbname=d",
	} {
		got := Redact(in)
		if got != want || strings.Contains(got, "s3") {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
