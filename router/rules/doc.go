// Package rules is the router's routing rules: a TOML file of rules that
// copy, move, rename and edit messages as the router forwards them, and
// the Engine that applies them per message.
//
// # File format
//
// TOML (github.com/BurntSushi/toml: comments, arrays of tables, errors
// with line numbers; the format the Go world reads for hand-written
// config). Every key is checked: an unknown or misplaced key is an error,
// never silently ignored.
//
//	max_hops = 4      # optional, 1-16: how deep copies of copies may go
//	max_copies = 64   # optional, 1-1024: copies per published message
//
//	[[rule]]
//	name = "big-eu-orders-to-audit"    # optional, unique; errors quote it
//	kind = "route"
//	match = "orders.eu.>"              # topic pattern, internal/topic syntax
//	selector = 'amount > 1000'         # optional, internal/selector language
//	mode = "copy"                      # "copy" (default) or "move"
//	topics = ["audit.orders"]          # plain topics, and/or
//	queues = ["audit-review"]          # queue names (topic syntax)
//
//	[[rule]]
//	kind = "rename"
//	match = "legacy.*.orders.>"
//	to = "orders.$1.$2"                # legacy.eu.orders.new -> orders.eu.new
//
//	[[rule]]
//	kind = "set-header"
//	match = "orders.>"
//	header = "x-routed"
//	value = "yes"
//
//	[[rule]]
//	kind = "remove-header"
//	match = ">"
//	selector = 'exists(header("x-debug"))'
//	header = "x-debug"
//
// router/rules/testdata/example.toml is a complete example, loaded by a
// test.
//
// Fields by kind, beyond name, kind, match and selector (which every kind
// has; match is required):
//
//   - route: topics and/or queues (at least one target), mode.
//   - rename: to (required).
//   - set-header: header and value (both required; value may be "").
//   - remove-header: header (required).
//
// # Semantics
//
// Rules apply in file order to each published message. A rule applies
// when its pattern matches the message's current topic (after earlier
// renames) and its selector, if any, matches the current topic, the
// priority and the current headers (after earlier edits). Then:
//
//   - route copies the message, as it is now, to each target. A copy to a
//     topic goes through all the rules again from the first, as if it had
//     been published to that topic, and is then delivered to that topic's
//     subscribers (unless a move rule takes it); a copy to a queue is
//     delivered to the queue as is. With mode = "move" the message itself
//     is not delivered to its own topic, and the rules after this one do
//     not run on it.
//   - rename replaces the topic. Each wildcard of the pattern is a
//     capture, numbered from 1 left to right: "*" captures one token, ">"
//     all the remaining tokens with their dots. In to, "$1" or "${1}"
//     inserts capture 1, "$$" a literal '$'; any other '$' is literal
//     ("$SYS.x"). A to that names a capture the pattern does not have is
//     refused at load. A rename whose result would exceed the topic limits
//     (topic.MaxLen, topic.MaxDepth) is skipped (Output.Skipped).
//   - set-header replaces every value of the header with the one value;
//     remove-header removes every value. Header names are case-sensitive.
//
// Copies are delivered with the headers the message had when copied, plus
// the edits the rules make on the copy's own pass. Edits made to the
// message after a copy was taken do not reach that copy.
//
// # Loops
//
// Because a copy runs through the rules again, a route can copy a copy. A
// route loop (audit.> copied to audit.all, or a.x copied to b.x copied to
// a.x) would copy forever, so Parse refuses any rule set where a route
// target can, through renames and routes, reach itself. The check takes
// every selector as "may match", so it may refuse a loop that a selector
// would break at run time: make the target fall outside the patterns
// instead. Chains without loops must be at most max_hops long (a copy of
// the published message is hop 1). At run time Apply also drops any copy
// past max_hops or max_copies, counting it in Output.Skipped.
//
// # Validation
//
// Parse and LoadFile report the first problem as a *RuleError naming the
// rule (1-based index in the file, and name), the field and the problem,
// and wrapping ErrInvalidRules (and the cause: selector.ErrSyntax,
// topic.ErrBadTopic), for example:
//
//	rules: rule 2 ("eu-audit"), field selector: selector: at column 14: expected value after "==", got end of input
//	rules: rule 3, field to: "orders.$2" uses a capture that does not exist: $2, and pattern "legacy.*" has 1 wildcard(s)
//	rules: rule 4 ("fan"), field topics: route loop audit.a → audit.b → audit.a (rules 3, 4): ...
//
// # Applying, and reloading
//
// An Engine is immutable once built, so it needs no lock: any number of
// goroutines may call Apply. To reload on SIGHUP the router parses the
// file into a new Engine and, only if it is valid, swaps it in:
//
//	var current atomic.Pointer[rules.Engine] // nil: no rules
//
//	// on SIGHUP
//	if e, err := rules.LoadFile(path); err != nil {
//		log.Printf("keeping the old rules: %v", err)
//	} else {
//		current.Store(e)
//	}
//
//	// per message, with one Output reused by the event loop
//	current.Load().Apply(rules.Input{Topic: t, Priority: p, Headers: h}, &out)
//
// A message is applied entirely with the Engine loaded at its start, so
// in-flight messages see either the old rule set or the new one, never a
// mix. Apply allocates nothing when no rule matches and, once the reused
// Output's slices have grown, nothing when rules match either. Edited
// header blocks come out ready to send (Output.Headers, Delivery.Headers);
// EditHeaders does the same edits for other callers.
package rules
