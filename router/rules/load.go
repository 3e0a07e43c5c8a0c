package rules

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/shmbus/shmbus/internal/selector"
	"github.com/shmbus/shmbus/internal/topic"
	"github.com/shmbus/shmbus/internal/wire"
)

// Limits and defaults of the file's top-level settings.
const (
	DefaultMaxHops   = 4
	MaxMaxHops       = 16
	DefaultMaxCopies = 64
	MaxMaxCopies     = 1024
	// MaxHeaderName is the longest header name a rule may set or remove.
	MaxHeaderName = 255
)

// Rule kinds as written in the file.
const (
	KindRoute        = "route"
	KindRename       = "rename"
	KindSetHeader    = "set-header"
	KindRemoveHeader = "remove-header"
)

// fileSpec is the file's top level; each [[rule]] is decoded on its own so
// that errors can name it.
type fileSpec struct {
	MaxHops   *int             `toml:"max_hops"`
	MaxCopies *int             `toml:"max_copies"`
	Rule      []toml.Primitive `toml:"rule"`
}

// ruleSpec is one [[rule]] table as written.
type ruleSpec struct {
	Name     string   `toml:"name"`
	Kind     string   `toml:"kind"`
	Match    string   `toml:"match"`
	Selector string   `toml:"selector"`
	Mode     string   `toml:"mode"`
	Topics   []string `toml:"topics"`
	Queues   []string `toml:"queues"`
	To       string   `toml:"to"`
	Header   string   `toml:"header"`
	Value    *string  `toml:"value"`
}

// fieldsOf lists the fields each kind accepts, after the common ones.
var (
	commonFields = []string{"name", "kind", "match", "selector"}
	fieldsOf     = map[string][]string{
		KindRoute:        {"mode", "topics", "queues"},
		KindRename:       {"to"},
		KindSetHeader:    {"header", "value"},
		KindRemoveHeader: {"header"},
	}
)

// LoadFile reads and validates a rules file (see the package
// documentation for the format).
func LoadFile(path string) (*Engine, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w: %w", ErrInvalidRules, err)
	}
	e, err := Parse(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

// Parse validates rules in the file format and builds their Engine. The
// error is a *RuleError (wrapping ErrInvalidRules) naming the rule, the
// field and the problem; the first problem found is reported.
func Parse(src []byte) (*Engine, error) {
	var f fileSpec
	md, err := toml.Decode(string(src), &f)
	if err != nil {
		return nil, &RuleError{Err: fmt.Errorf("toml: %w", err)}
	}
	for _, k := range md.Undecoded() {
		if len(k) == 1 {
			return nil, &RuleError{Field: k[0], Err: errors.New("unknown top-level field (have max_hops, max_copies, [[rule]])")}
		}
	}
	e := &Engine{maxHops: DefaultMaxHops, maxCopies: DefaultMaxCopies}
	if f.MaxHops != nil {
		if *f.MaxHops < 1 || *f.MaxHops > MaxMaxHops {
			return nil, &RuleError{Field: "max_hops", Err: fmt.Errorf("%d is out of range 1 to %d", *f.MaxHops, MaxMaxHops)}
		}
		e.maxHops = *f.MaxHops
	}
	if f.MaxCopies != nil {
		if *f.MaxCopies < 1 || *f.MaxCopies > MaxMaxCopies {
			return nil, &RuleError{Field: "max_copies", Err: fmt.Errorf("%d is out of range 1 to %d", *f.MaxCopies, MaxMaxCopies)}
		}
		e.maxCopies = *f.MaxCopies
	}
	names := make(map[string]int)
	for i, p := range f.Rule {
		r, err := decodeRule(&md, p, i+1)
		if err != nil {
			return nil, err
		}
		if r.name != "" {
			if prev, dup := names[r.name]; dup {
				return nil, &RuleError{Index: r.index, Name: r.name, Field: "name", Err: fmt.Errorf("duplicate name, rule %d has it too", prev)}
			}
			names[r.name] = r.index
		}
		e.rules = append(e.rules, r)
	}
	if err := e.checkRoutes(); err != nil {
		return nil, err
	}
	return e, nil
}

// decodeRule decodes and validates the index'th (1-based) [[rule]].
func decodeRule(md *toml.MetaData, p toml.Primitive, index int) (rule, error) {
	var raw map[string]any
	if err := md.PrimitiveDecode(p, &raw); err != nil {
		return rule{}, &RuleError{Index: index, Err: fmt.Errorf("toml: %w", err)}
	}
	var s ruleSpec
	if err := md.PrimitiveDecode(p, &s); err != nil {
		name, _ := raw["name"].(string)
		return rule{}, &RuleError{Index: index, Name: name, Err: fmt.Errorf("toml: %w", err)}
	}
	r := rule{index: index, name: s.Name}
	fail := func(field string, format string, args ...any) (rule, error) {
		return rule{}, &RuleError{Index: index, Name: s.Name, Field: field, Err: fmt.Errorf(format, args...)}
	}
	kinds := make([]string, 0, len(fieldsOf))
	for k := range fieldsOf {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	allowed, known := fieldsOf[s.Kind]
	switch {
	case s.Kind == "":
		return fail("kind", "missing (have %s)", strings.Join(kinds, ", "))
	case !known:
		return fail("kind", "unknown kind %q (have %s)", s.Kind, strings.Join(kinds, ", "))
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !contains(commonFields, k) && !contains(allowed, k) {
			if !knownField(k) {
				return fail(k, "unknown field")
			}
			return fail(k, "does not apply to kind %s", s.Kind)
		}
	}
	if s.Match == "" {
		return fail("match", "missing: the topic pattern the rule applies to")
	}
	var err error
	if r.pat, err = compilePattern(s.Match); err != nil {
		return fail("match", "bad pattern: %w", err)
	}
	if s.Selector != "" {
		if r.sel, err = selector.Compile(s.Selector); err != nil {
			return fail("selector", "%w", err)
		}
	}
	switch s.Kind {
	case KindRoute:
		return decodeRoute(r, &s, fail)
	case KindRename:
		r.kind = kindRename
		if s.To == "" {
			return fail("to", "missing: the new topic, e.g. \"orders.$1\"")
		}
		if r.to, err = compileTemplate(s.To, r.pat.caps, s.Match); err != nil {
			return fail("to", "%w", err)
		}
	default:
		r.kind = kindEdit
		if s.Header == "" {
			return fail("header", "missing: the header name")
		}
		if err := checkHeaderName(s.Header); err != nil {
			return fail("header", "%w", err)
		}
		r.edit = [1]HeaderEdit{{Op: OpRemove, Key: []byte(s.Header)}}
		if s.Kind == KindSetHeader {
			if s.Value == nil {
				return fail("value", "missing (write value = \"\" for an empty value)")
			}
			if len(*s.Value) > wire.MaxHeaderLen {
				return fail("value", "%d bytes exceeds %d", len(*s.Value), wire.MaxHeaderLen)
			}
			r.edit[0].Op, r.edit[0].Value = OpSet, []byte(*s.Value)
		}
	}
	return r, nil
}

// decodeRoute validates a route rule's mode and targets.
func decodeRoute(r rule, s *ruleSpec, fail func(string, string, ...any) (rule, error)) (rule, error) {
	r.kind = kindRoute
	switch s.Mode {
	case "", "copy":
	case "move":
		r.move = true
	default:
		return fail("mode", "unknown mode %q (have copy, move)", s.Mode)
	}
	if len(s.Topics) == 0 && len(s.Queues) == 0 {
		return fail("topics", "missing target: a route needs topics, queues or both")
	}
	seen := make(map[string]bool)
	for i, t := range s.Topics {
		if err := topic.ValidateTopic(t); err != nil {
			return fail("topics", "topics[%d]: %w", i, err)
		}
		if j := captureRef(t); j >= 0 {
			return fail("topics", "topics[%d]: %q: captures like %q are for rename rules only; a route target is a plain topic", i, t, t[j:j+2])
		}
		if seen[t] {
			return fail("topics", "topics[%d]: %q listed twice", i, t)
		}
		seen[t] = true
		r.topics = append(r.topics, []byte(t))
	}
	seen = make(map[string]bool)
	for i, q := range s.Queues {
		if err := topic.ValidateTopic(q); err != nil {
			return fail("queues", "queues[%d]: bad queue name: %w", i, err)
		}
		if seen[q] {
			return fail("queues", "queues[%d]: %q listed twice", i, q)
		}
		seen[q] = true
		r.queues = append(r.queues, q)
	}
	return r, nil
}

// captureRef returns the offset of the first "$<digit>" or "${" in s, or -1.
func captureRef(s string) int {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '$' && (s[i+1] == '{' || s[i+1] >= '0' && s[i+1] <= '9') {
			return i
		}
	}
	return -1
}

// checkHeaderName accepts 1 to MaxHeaderName printable ASCII bytes other
// than space.
func checkHeaderName(h string) error {
	if len(h) > MaxHeaderName {
		return fmt.Errorf("name of %d bytes exceeds %d", len(h), MaxHeaderName)
	}
	for i := 0; i < len(h); i++ {
		if h[i] < 0x21 || h[i] > 0x7e {
			return fmt.Errorf("name %q: byte %d is not printable ASCII (space excluded)", h, i)
		}
	}
	return nil
}

func knownField(k string) bool {
	if contains(commonFields, k) {
		return true
	}
	for _, fs := range fieldsOf {
		if contains(fs, k) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
