package scheduler

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/setting"
)

func TestOptionsWithDefaults(t *testing.T) {
	o := Options{}.WithDefaults()
	if o.Instance == "" || o.Timeout != DefaultTimeout || o.ShutdownTimeout != DefaultShutdownTimeout ||
		o.StartTimeout != DefaultStartTimeout || o.Retention != DefaultRetention || o.MaxPending != DefaultMaxPending ||
		o.Logger == nil || o.Metrics == nil || o.Clock == nil {
		t.Fatalf("defaults: %+v", o)
	}
	// A deadline shorter than the default start timeout bounds it.
	if o := (Options{Timeout: 3 * time.Second}).WithDefaults(); o.StartTimeout != 3*time.Second {
		t.Errorf("StartTimeout with a 3s Timeout = %v", o.StartTimeout)
	}
	// Set fields are kept.
	if o := (Options{Instance: "x", Timeout: time.Minute, ShutdownTimeout: time.Second}).WithDefaults(); o.Instance != "x" ||
		o.Timeout != time.Minute || o.ShutdownTimeout != time.Second {
		t.Errorf("set fields changed: %+v", o)
	}
}

// Validate names the option, and its environment variable where it has one.
func TestOptionsValidate(t *testing.T) {
	for _, ok := range []Options{{}, Options{}.WithDefaults(), {Timeout: time.Second, StartTimeout: time.Second}} {
		if err := ok.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", ok, err)
		}
	}
	for _, c := range []struct {
		o              Options
		option, reason string
		message        string
	}{
		{Options{Timeout: -time.Minute}, "Timeout", "positive duration", `configuration: JOB_TIMEOUT="-1m0s": must be a positive duration, such as 5m`},
		{Options{ShutdownTimeout: -time.Second}, "ShutdownTimeout", "positive duration", `configuration: SHUTDOWN_TIMEOUT="-1s": must be a positive duration, such as 30s`},
		{Options{StartTimeout: -1}, "StartTimeout", "positive duration", `configuration: scheduler option StartTimeout="-1ns": must be a positive duration, such as 10s`},
		{Options{Retention: -time.Hour}, "Retention", "positive duration", ""},
		{Options{MaxPending: -1}, "MaxPending", "positive number", ""},
		{Options{Timeout: time.Second, StartTimeout: 2 * time.Second}, "StartTimeout", "at most the run's deadline (JOB_TIMEOUT=1s)", ""},
		{Options{StartTimeout: 6 * time.Minute}, "StartTimeout", "at most the run's deadline (JOB_TIMEOUT=5m0s)", ""},
	} {
		err := c.o.Validate()
		var se *setting.Error
		name := variableOf[c.option]
		if name == "" {
			name = "scheduler option " + c.option
		}
		if !errors.As(err, &se) || se.Name != name || !strings.Contains(se.Reason, c.reason) {
			t.Errorf("Validate(%+v) = %v, want %s: %s", c.o, err, c.option, c.reason)
			continue
		}
		if c.message != "" && err.Error() != c.message {
			t.Errorf("Validate(%+v) = %q, want %q", c.o, err, c.message)
		}
	}
}

// New refuses what Validate refuses: the configuration is checked where it is read, so reaching
// New with a bad option is a programming error.
// variableOf is the environment variable of the options that have one.
var variableOf = map[string]string{"Timeout": "JOB_TIMEOUT", "ShutdownTimeout": "SHUTDOWN_TIMEOUT"}

func TestNewPanicsOnBadOptions(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `JOB_TIMEOUT="-1s"`) {
			t.Fatalf("recovered %v, want a panic naming JOB_TIMEOUT", r)
		}
	}()
	New(nil, Options{Timeout: -time.Second})
}
