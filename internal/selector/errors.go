package selector

import (
	"errors"
	"fmt"
)

// ErrSyntax is wrapped by every error Compile returns. errors.As with a
// *SyntaxError gives the column.
var ErrSyntax = errors.New("selector: syntax error")

// SyntaxError says where a selector went wrong and what was expected there.
type SyntaxError struct {
	// Column is the 1-based byte offset in the source where the problem
	// starts (len(src)+1 for "end of input").
	Column int
	// Msg says what was expected and what was found, e.g.
	// `expected value after "==", got end of input`.
	Msg string
}

// Error renders the error as "selector: at column N: msg".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("selector: at column %d: %s", e.Column, e.Msg)
}

// Unwrap makes errors.Is(err, ErrSyntax) true.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// errorAt builds a *SyntaxError at byte offset off (0-based).
func errorAt(off int, format string, args ...any) error {
	return &SyntaxError{Column: off + 1, Msg: fmt.Sprintf(format, args...)}
}
