// Package selector is the header filter language of shmbus subscriptions
// and routing rules. The router evaluates a selector against every message
// before it crosses to a consumer, so a filtered message costs the consumer
// nothing:
//
//	region == "eu" && amount > 100
//	$topic like "orders.*.created" && $priority >= 5
//	exists(header("x-trace")) || tier in ("gold", "platinum")
//
// Compile parses a selector once; (*Selector).Eval runs it per message on
// the topic, the priority and the encoded header block (internal/wire's
// layout), allocating nothing.
//
// # Grammar
//
// In EBNF; tokens may be separated by spaces, tabs and newlines:
//
//	selector   = or_expr .
//	or_expr    = and_expr { "||" and_expr } .
//	and_expr   = unary { "&&" unary } .
//	unary      = "!" unary | primary .
//	primary    = "(" or_expr ")"
//	           | "exists" "(" header ")"
//	           | "true" | "false"
//	           | operand comparison .
//	comparison = cmp_op operand
//	           | "in" "(" literal { "," literal } ")"
//	           | "like" string .
//	cmp_op     = "==" | "!=" | "<" | "<=" | ">" | ">=" .
//	operand    = header | builtin | literal .
//	header     = ident | "header" "(" string ")" .
//	builtin    = "$topic" | "$priority" .
//	literal    = string | number | "true" | "false" .
//	ident      = letter { letter | digit | "-" | "." } .   (not a keyword)
//	letter     = "A" … "Z" | "a" … "z" | "_" .
//	number     = [ "-" ] digit { digit } [ "." digit { digit } ] .
//	string     = `"` { char | escape } `"` .
//	escape     = `\"` | `\\` | `\n` | `\r` | `\t` | `\x` hex hex .
//
// Keywords (in, like, exists, header, true, false) are lower case and
// cannot be bare header names: header("in") reads a header called "in",
// as header("x trace") reads one with a space. Precedence, loosest first:
// ||, &&, !, comparison; "!" applies to a whole comparison, so
// !region == "eu" means !(region == "eu"). A bare header is not a
// condition: write exists(name) or compare it.
//
// # Values
//
//   - A header operand is the first value of that header (names compare
//     byte-for-byte, case-sensitively; later repeats of a key are ignored).
//     The value is a string; it is also a number when its bytes are a
//     number (as in the grammar: no spaces, no '+', no exponent), and a
//     boolean when they are exactly "true" or "false".
//   - $topic is a string; $priority (0-255, 0-9 on the wire) is a number.
//   - A string literal is only a string, even "100": quoting forces a
//     string comparison. A number literal is only a number.
//
// # Comparison
//
// a op b, and each element of "in" (which is a == e1 || a == e2 ...):
//
//  1. If a header operand is absent, the comparison is false, whatever the
//     operator (so region != "eu" is false when region is absent, while
//     !(region == "eu") is true: "!" is plain negation, not SQL's
//     three-valued NOT).
//  2. If both sides are numbers, they compare as exact decimals (any
//     length; 7 == 007 == 7.0, -0 == 0).
//  3. Else if both are strings, they compare byte-wise (lexicographic on
//     unsigned bytes, like bytes.Compare).
//  4. Else if both are booleans, == and != compare them; < <= > >= with a
//     boolean literal are refused by Compile.
//  5. Else the types differ: != is true and every other operator false
//     (amount > 100 is false when amount is "n/a").
//
// # Like
//
// a like "pattern" is a glob over bytes: '*' matches any run of bytes,
// empty included and dots included ("orders.*" matches "orders.eu.new"),
// '?' exactly one byte, and '\' makes the next byte literal. As the pattern
// is a string literal, a literal star is written "\\*". The left side must
// be a header, $topic or a string; an absent header does not match.
//
// # Errors and limits
//
// Compile's errors are *SyntaxError values wrapping ErrSyntax, for example
//
//	selector: at column 14: expected value after "==", got end of input
//
// A selector is at most MaxLen bytes and nests parentheses and "!" at most
// MaxDepth deep, so hostile input cannot exhaust the stack; && and || chains
// are flat lists and do not nest.
//
// # Evaluation
//
// Eval walks the compiled tree: a header is found by a linear scan of the
// block (blocks are small), numbers are parsed from the header bytes in
// place, nothing is allocated. A malformed header block matches no
// selector, not even "true": Eval checks the block first. A Selector is
// immutable and safe for concurrent use.
package selector
