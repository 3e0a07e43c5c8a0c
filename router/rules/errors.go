package rules

import (
	"errors"
	"fmt"
)

// ErrInvalidRules is wrapped by every error Parse and LoadFile return.
var ErrInvalidRules = errors.New("rules: invalid rules")

// RuleError names the rule and the field a validation error is about.
// errors.Is(err, ErrInvalidRules) holds, and so does errors.Is with the
// cause (selector.ErrSyntax for a bad selector, topic.ErrBadTopic for a
// bad pattern or topic).
type RuleError struct {
	Index int    // 1-based position of the [[rule]] in the file; 0 for a top-level field
	Name  string // the rule's name, "" when it has none
	Field string // the TOML key at fault, "" for the rule as a whole
	Err   error  // what is wrong
}

// Error renders e as `rules: rule 3 ("eu-audit"), field selector: ...`.
func (e *RuleError) Error() string {
	var where string
	switch {
	case e.Index == 0:
		where = "rules: "
	case e.Name != "":
		where = fmt.Sprintf("rules: rule %d (%q), ", e.Index, e.Name)
	default:
		where = fmt.Sprintf("rules: rule %d, ", e.Index)
	}
	if e.Field != "" {
		where += "field " + e.Field + ": "
	}
	return where + e.Err.Error()
}

// Unwrap gives ErrInvalidRules and the cause.
func (e *RuleError) Unwrap() []error { return []error{ErrInvalidRules, e.Err} }
