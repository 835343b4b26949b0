// Package setting names a bad setting. Every package's Options.Validate returns an *Error, so the
// process can stop start-up with the one line an operator needs: which variable, which value, and
// what is wrong with it.
package setting

import "fmt"

// Error is a setting with a bad value.
type Error struct {
	// Name is the setting's environment variable (DELIVERY_TIMEOUT), the name an operator sets.
	Name string
	// Value is the value as set, shown in messages: never a secret (redact it first).
	Value string
	// Reason says what is wrong and what would be right.
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("configuration: %s=%q: %s", e.Name, e.Value, e.Reason)
}

// Errorf returns an *Error for the setting name with value, the reason formatted.
func Errorf(name string, value any, format string, args ...any) *Error {
	return &Error{Name: name, Value: fmt.Sprint(value), Reason: fmt.Sprintf(format, args...)}
}
