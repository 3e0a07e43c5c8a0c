package router

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// One case per rule in topic.go. topicErr and patternErr are substrings of
// the expected error message; "" means the string is valid.
var validationCases = []struct {
	name, s              string
	topicErr, patternErr string
}{
	// Length.
	{"empty", "", `topic "": empty`, `pattern "": empty`},
	{"one byte", "a", "", ""},
	{"max length", strings.Repeat("a", MaxTopicLen), "", ""},
	{"one too long", strings.Repeat("a", MaxTopicLen+1), "topic of 256 bytes exceeds 255", "pattern of 256 bytes exceeds 255"},
	{"too long", strings.Repeat("a.", 150), "topic of 300 bytes exceeds 255", "pattern of 300 bytes exceeds 255"},
	// Empty tokens.
	{"leading dot", ".a", "empty token at position 1", "empty token at position 1"},
	{"trailing dot", "a.", "empty token at position 2", "empty token at position 2"},
	{"double dot", "a..b", `topic "a..b": empty token at position 2`, `pattern "a..b": empty token at position 2`},
	{"only a dot", ".", "empty token at position 1", "empty token at position 1"},
	// Characters.
	{"space", "a.b c", `topic "a.b c": bad character ' ' in token "b c"`, `bad character ' ' in token "b c"`},
	{"tab", "a\tb", `bad character '\x09' in token "a\tb"`, `bad character '\x09'`},
	{"NUL", "a.\x00", `bad character '\x00' in token "\x00"`, `bad character '\x00'`},
	{"DEL", "a\x7f", `bad character '\x7f'`, `bad character '\x7f'`},
	{"non-ASCII byte", "a.\xff", `bad character '\xff'`, `bad character '\xff'`},
	{"UTF-8", "caf\u00e9", `bad character '\xc3' in token "café"`, `bad character '\xc3'`},
	{"bad char after a wildcard", "a.*\x01", `bad character '\x01' in token "*\x01"`, `bad character '\x01'`},
	{"system topic", "$SYS.alert.ring", "", ""},
	{"punctuation", "a_b-c:d~!/#+@%$=,;", "", ""},
	{"digits and case", "Orders.EU.42", "", ""},
	// Wildcards.
	{"star", "*", "wildcards not allowed in a publish topic", ""},
	{"full", ">", "wildcards not allowed in a publish topic", ""},
	{"star inside", "a.*.c", `topic "a.*.c": wildcards not allowed in a publish topic`, ""},
	{"star last", "a.*", `topic "a.*": wildcards not allowed in a publish topic`, ""},
	{"full last", "a.>", "wildcards not allowed", ""},
	{"star then full", "*.*.>", "wildcards not allowed", ""},
	{"system pattern", "$SYS.>", "wildcards not allowed", ""},
	{"full first", ">.a", "wildcards not allowed", `pattern ">.a": '>' must be the last token`},
	{"full inside", "a.>.b", "wildcards not allowed", `pattern "a.>.b": '>' must be the last token`},
	{"two fulls", "a.>.>", "wildcards not allowed", "'>' must be the last token"},
	{"star prefix", "a.*b", `wildcard mixed with other characters in token "*b"`, `wildcard mixed with other characters in token "*b"`},
	{"star suffix", "a*", `token "a*"`, `token "a*"`},
	{"full suffix", "a.b>", `token "b>"`, `token "b>"`},
	{"double star", "**", `token "**"`, `token "**"`},
	{"star and full", "*>", `token "*>"`, `token "*>"`},
	// Depth.
	{"max depth", strings.Repeat("a.", MaxTopicDepth-1) + "a", "", ""},
	{"too deep", strings.Repeat("a.", MaxTopicDepth) + "a", "more than 32 tokens", "more than 32 tokens"},
	{"too deep pattern", strings.Repeat("*.", MaxTopicDepth) + ">", "wildcards not allowed", "more than 32 tokens"},
}

func TestValidate(t *testing.T) {
	for _, c := range validationCases {
		t.Run(c.name, func(t *testing.T) {
			check := func(what string, err error, want string) {
				t.Helper()
				switch {
				case want == "" && err != nil:
					t.Errorf("%s: unexpected error %v", what, err)
				case want != "" && err == nil:
					t.Errorf("%s: accepted, want error containing %q", what, want)
				case want != "" && !errors.Is(err, ErrBadTopic):
					t.Errorf("%s: %v does not wrap ErrBadTopic", what, err)
				case want != "" && !strings.Contains(err.Error(), want):
					t.Errorf("%s: error %q does not contain %q", what, err, want)
				}
			}
			check("ValidateTopic", ValidateTopic(c.s), c.topicErr)
			check("ValidatePattern", ValidatePattern(c.s), c.patternErr)
		})
	}
}

// The messages in full, as a user reads them.
func TestValidateMessages(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{ValidateTopic("a..b"), `topic "a..b": empty token at position 2: shmbus: bad topic`},
		{ValidateTopic("a.b c"), `topic "a.b c": bad character ' ' in token "b c": shmbus: bad topic`},
		{ValidateTopic("a.*"), `topic "a.*": wildcards not allowed in a publish topic: shmbus: bad topic`},
		{ValidatePattern("a.>.b"), `pattern "a.>.b": '>' must be the last token: shmbus: bad topic`},
		{ValidateTopic(strings.Repeat("x", 300)), `topic of 300 bytes exceeds 255: shmbus: bad topic`},
		{ValidatePattern("a.b*"), `pattern "a.b*": wildcard mixed with other characters in token "b*" (a wildcard must be a whole token): shmbus: bad topic`},
	} {
		if c.err == nil || c.err.Error() != c.want {
			t.Errorf("got %v\nwant %s", c.err, c.want)
		}
	}
}

// Validation runs on every publish: it must not allocate on success.
func TestValidateDoesNotAllocate(t *testing.T) {
	topic, pattern := "$SYS.orders.eu.created", "$SYS.*.eu.>"
	if a := testing.AllocsPerRun(1000, func() {
		if ValidateTopic(topic) != nil || ValidatePattern(pattern) != nil || !Matches(pattern, topic) {
			panic("rejected")
		}
	}); a != 0 {
		t.Errorf("ValidateTopic/ValidatePattern/Matches: %v allocs per run", a)
	}
}

func BenchmarkValidateTopic(b *testing.B) {
	for _, depth := range []int{1, 4, 16} {
		topic := strings.TrimSuffix(strings.Repeat("token.", depth), ".")
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			b.SetBytes(int64(len(topic)))
			b.ReportAllocs()
			for b.Loop() {
				if ValidateTopic(topic) != nil {
					b.Fatal("rejected")
				}
			}
		})
	}
}
