package bus

import (
	"errors"
	"strings"
	"testing"

	"github.com/shmbus/shmbus/router"
)

var topicCorpus = []string{
	"", "a", "a.b", "a.b.c", "orders.eu.created", "$SYS.alert.ring", "_INBOX.12.7",
	".", ".a", "a.", "a..b", "a b", "a\tb", "a\x00", "é", "a.\x7f", "~!@#$%^&()",
	"*", ">", "a.*", "a.>", "*.b", ">.a", "a.*.c", "a.>.c", "a*", "a.b*", "b>c", "a.**", "a.>>",
	strings.Repeat("a", 255), strings.Repeat("a", 256),
	strings.Repeat("a.", 31) + "a", strings.Repeat("a.", 32) + "a",
}

// The client's checks are the router's: a topic the client accepts, the
// router accepts, and the other way round.
func TestTopicRulesMatchRouter(t *testing.T) {
	for _, s := range topicCorpus {
		checkAgainstRouter(t, s)
	}
}

func FuzzTopicRulesMatchRouter(f *testing.F) {
	for _, s := range topicCorpus {
		f.Add(s)
	}
	f.Fuzz(checkAgainstRouter)
}

func checkAgainstRouter(t *testing.T, s string) {
	mine, theirs := ValidateTopic(s), router.ValidateTopic(s)
	if (mine == nil) != (theirs == nil) {
		t.Fatalf("topic %q: client says %v, router says %v", s, mine, theirs)
	}
	if mine != nil && !errors.Is(mine, ErrBadTopic) {
		t.Fatalf("topic %q: %v does not wrap ErrBadTopic", s, mine)
	}
	mine, theirs = ValidatePattern(s), router.ValidatePattern(s)
	if (mine == nil) != (theirs == nil) {
		t.Fatalf("pattern %q: client says %v, router says %v", s, mine, theirs)
	}
	if mine == nil && isLiteral(s) != (router.ValidateTopic(s) == nil) {
		t.Fatalf("pattern %q: literal %v", s, isLiteral(s))
	}
}

func TestValidateDoesNotAllocate(t *testing.T) {
	if a := testing.AllocsPerRun(100, func() {
		ValidateTopic("orders.eu.created")
		ValidatePattern("orders.*.>")
	}); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}
