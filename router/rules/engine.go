package rules

import "github.com/shmbus/shmbus/internal/selector"

// ruleKind is a validated rule's kind (set-header and remove-header are
// both kindEdit, told apart by the edit's Op).
type ruleKind uint8

const (
	kindRoute ruleKind = iota
	kindRename
	kindEdit
)

// rule is one validated [[rule]].
type rule struct {
	index int    // 1-based, as in errors
	name  string // may be ""
	kind  ruleKind
	pat   pattern
	sel   *selector.Selector // nil: no selector
	// route
	move   bool
	topics [][]byte
	queues []string
	// rename
	to template
	// set-header, remove-header: one edit, as a slice for EditHeaders
	edit [1]HeaderEdit
}

// Engine applies a validated rule set. It is immutable once Parse returns
// it, so any number of goroutines may Apply at once, and a reload builds a
// new Engine and swaps a pointer (see the package documentation). A nil
// *Engine has no rules.
type Engine struct {
	rules     []rule
	maxHops   int
	maxCopies int
}

// Len is the number of rules.
func (e *Engine) Len() int {
	if e == nil {
		return 0
	}
	return len(e.rules)
}

// Input is one message as the router sees it: the topic it was published
// to, its priority and its encoded header block (internal/wire).
type Input struct {
	Topic    []byte
	Priority uint8
	Headers  []byte
}

// Delivery is one extra copy a route rule made.
type Delivery struct {
	// Topic is the copy's topic: the route target, after the rules
	// applied to it (renames). For a queue delivery, the topic the
	// message had when the rule copied it.
	Topic []byte
	// Queue is the target queue, or "" for a delivery to Topic's
	// subscribers.
	Queue string
	// Headers is the copy's header block, HeadersEdited whether it
	// differs from the input's.
	Headers       []byte
	HeadersEdited bool
	// Hop is 1 for a copy of the published message, 2 for a copy made
	// while routing that copy, and so on.
	Hop int
	// Rule is the 1-based index of the route rule that made the copy.
	Rule int
}

// Output is what Apply decided. Reuse one Output per goroutine: Apply
// resets it and appends into its slices, so once they have grown, Apply
// allocates nothing. Everything in it is valid until the next Apply with
// the same Output; byte slices may point into the Input (when nothing
// changed them) or into the Output's own buffer.
type Output struct {
	// Topic is the topic to deliver the message to (the input topic, or
	// the result of renames), nil when Moved.
	Topic []byte
	// Moved is true when a route rule with mode "move" took the message:
	// there is no normal delivery.
	Moved bool
	// Headers is the header block of the normal delivery (the input block
	// when HeadersEdited is false).
	Headers       []byte
	HeadersEdited bool
	// Copies are the extra deliveries, depth first in rule order: a
	// copy's own copies come before it.
	Copies []Delivery
	// Matched counts the rules that applied (pattern and selector
	// matched), over the message and its copies.
	Matched int
	// Skipped counts actions not taken because their result would be
	// invalid: a rename longer than topic.MaxLen or deeper than
	// topic.MaxDepth, a header edit of a malformed block or past
	// wire.MaxHeaderLen, a copy past max_hops or max_copies. The router
	// counts them; the rest of the rules still apply.
	Skipped int

	buf []byte // renamed topics and edited header blocks
}

// Apply runs the rules on in and writes the result to out. When no rule
// matches, out says "deliver in.Topic with in.Headers" and Apply has
// allocated nothing; when rules match it allocates only to grow out's
// slices.
func (e *Engine) Apply(in Input, out *Output) {
	out.Topic, out.Moved = in.Topic, false
	out.Headers, out.HeadersEdited = in.Headers, false
	out.Copies = out.Copies[:0]
	out.Matched, out.Skipped = 0, 0
	out.buf = out.buf[:0]
	if e == nil || len(e.rules) == 0 {
		return
	}
	st := e.pass(msgState{topic: in.Topic, headers: in.Headers}, in.Priority, 0, out)
	out.Headers, out.HeadersEdited = st.headers, st.edited
	if st.moved {
		out.Topic, out.Moved = nil, true
	} else {
		out.Topic = st.topic
	}
}

// msgState is a message as the rules change it during one pass.
type msgState struct {
	topic   []byte
	headers []byte
	edited  bool // headers differ from the input's
	moved   bool // a move rule took it
}

// pass runs every rule, in order, on one message (the published one at hop
// 0, or a copy) and returns what became of it. Copies recurse into pass,
// at most maxHops deep.
func (e *Engine) pass(m msgState, prio uint8, hop int, out *Output) msgState {
	var caps captures
	for i := range e.rules {
		r := &e.rules[i]
		var cp *captures
		if r.kind == kindRename {
			cp = &caps
		}
		if !r.pat.match(m.topic, cp) || r.sel != nil && !r.sel.Eval(m.topic, prio, m.headers) {
			continue
		}
		out.Matched++
		switch r.kind {
		case kindRename:
			start := len(out.buf)
			var ok bool
			if out.buf, ok = r.to.expand(out.buf, m.topic, &caps); !ok {
				out.Skipped++
				continue
			}
			m.topic = out.buf[start:len(out.buf):len(out.buf)]
		case kindEdit:
			start := len(out.buf)
			b, err := EditHeaders(out.buf, m.headers, r.edit[:])
			if err != nil {
				out.Skipped++
				continue
			}
			out.buf = b
			m.headers, m.edited = b[start:len(b):len(b)], true
		case kindRoute:
			for _, t := range r.topics {
				e.copyTo(t, m, prio, hop+1, r.index, out)
			}
			for _, q := range r.queues {
				if len(out.Copies) >= e.maxCopies {
					out.Skipped++
					continue
				}
				out.Copies = append(out.Copies, Delivery{Topic: m.topic, Queue: q, Headers: m.headers, HeadersEdited: m.edited, Hop: hop + 1, Rule: r.index})
			}
			if r.move {
				m.moved = true
				return m
			}
		}
	}
	return m
}

// copyTo routes a copy of m to topic t: the rules run on it as if it had
// been published to t, and unless they move it, it is a Delivery.
func (e *Engine) copyTo(t []byte, m msgState, prio uint8, hop, rule int, out *Output) {
	if hop > e.maxHops || len(out.Copies) >= e.maxCopies {
		out.Skipped++
		return
	}
	c := e.pass(msgState{topic: t, headers: m.headers, edited: m.edited}, prio, hop, out)
	if c.moved {
		return
	}
	if len(out.Copies) >= e.maxCopies {
		out.Skipped++
		return
	}
	out.Copies = append(out.Copies, Delivery{Topic: c.topic, Headers: c.headers, HeadersEdited: c.edited, Hop: hop, Rule: rule})
}
