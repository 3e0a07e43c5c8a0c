package rules

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/shmbus/shmbus/internal/selector"
	"github.com/shmbus/shmbus/internal/topic"
)

func TestLoadExample(t *testing.T) {
	e, err := LoadFile("testdata/example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if e.Len() != 5 || e.maxHops != 3 || e.maxCopies != 32 {
		t.Fatalf("Len %d, max_hops %d, max_copies %d", e.Len(), e.maxHops, e.maxCopies)
	}
	var out Output
	h := block("amount", "1500", "currency", "EUR", "x-debug", "1", "id", "7")
	e.Apply(Input{Topic: []byte("legacy.eu.orders.created"), Headers: h}, &out)
	if string(out.Topic) != "orders.eu.created" || pairs(out.Headers) != "amount=1500 currency=EUR id=7" {
		t.Fatalf("topic %q headers %q", out.Topic, pairs(out.Headers))
	}
	if len(out.Copies) != 2 {
		t.Fatalf("copies %+v", out.Copies)
	}
	if c := out.Copies[0]; string(c.Topic) != "audit.orders" || pairs(c.Headers) != "amount=1500 currency=EUR id=7 x-audited=true" || c.Rule != 3 {
		t.Errorf("audit copy %q %q rule %d", c.Topic, pairs(c.Headers), c.Rule)
	}
	if c := out.Copies[1]; c.Queue != "audit-review" || string(c.Topic) != "orders.eu.created" || pairs(c.Headers) != "amount=1500 currency=EUR id=7" {
		t.Errorf("queue copy %+v", c)
	}
	e.Apply(Input{Topic: []byte("orders.us.created"), Headers: block("env", "test")}, &out)
	if !out.Moved || out.Topic != nil || len(out.Copies) != 1 || string(out.Copies[0].Topic) != "sandbox.orders" {
		t.Errorf("test order: moved %v topic %q copies %+v", out.Moved, out.Topic, out.Copies)
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(t.TempDir() + "/none.toml")
	if !errors.Is(err, ErrInvalidRules) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadEmpty(t *testing.T) {
	for _, src := range []string{"", "# nothing\n", "max_hops = 2\n"} {
		e, err := LoadFile(writeFile(t, src))
		if err != nil || e.Len() != 0 {
			t.Errorf("%q: %v, %d rules", src, err, e.Len())
		}
	}
}

// rule is a one-rule file with the given body.
func ruleFile(body string) string { return "[[rule]]\n" + body + "\n" }

func TestLoadErrors(t *testing.T) {
	route := "kind = \"route\"\nmatch = \"a.>\"\n"
	for _, tc := range []struct {
		name  string
		src   string
		index int
		rname string
		field string
		want  string
		cause error
	}{
		{"toml syntax", "[[rule]\n", 0, "", "", "toml: ", nil},
		{"unknown top-level", "maxhops = 3\n", 0, "", "maxhops", "unknown top-level field", nil},
		{"max_hops range", "max_hops = 0\n", 0, "", "max_hops", "0 is out of range 1 to 16", nil},
		{"max_copies range", "max_copies = 5000\n", 0, "", "max_copies", "5000 is out of range 1 to 1024", nil},
		{"wrong type", ruleFile("name = \"r\"\nkind = 3"), 1, "r", "", "toml: ", nil},
		{"missing kind", ruleFile(`match = "a"`), 1, "", "kind", "missing (have remove-header, rename, route, set-header)", nil},
		{"unknown kind", ruleFile("name = \"x\"\nkind = \"rout\"\nmatch = \"a\""), 1, "x", "kind", `unknown kind "rout"`, nil},
		{"unknown field", ruleFile(route + "topics = [\"b\"]\ntpoics = [\"c\"]"), 1, "", "tpoics", "unknown field", nil},
		{"misplaced field", ruleFile(route + "topics = [\"b\"]\nto = \"c\""), 1, "", "to", "does not apply to kind route", nil},
		{"missing match", ruleFile("kind = \"rename\"\nto = \"b\""), 1, "", "match", "missing", nil},
		{"bad pattern", ruleFile("kind = \"rename\"\nmatch = \"a.>.b\"\nto = \"b\""), 1, "", "match", "bad pattern", topic.ErrBadTopic},
		{"bad selector", ruleFile(route + "topics = [\"b\"]\nselector = 'x == 1 &&'"), 1, "", "selector", `at column 10: expected condition after "&&", got end of input`, selector.ErrSyntax},
		{"bad mode", ruleFile(route + "topics = [\"b\"]\nmode = \"teleport\""), 1, "", "mode", `unknown mode "teleport"`, nil},
		{"missing target", ruleFile(route + "mode = \"move\""), 1, "", "topics", "missing target", nil},
		{"empty targets", ruleFile(route + "topics = []\nqueues = []"), 1, "", "topics", "missing target", nil},
		{"bad target topic", ruleFile(route + "topics = [\"ok\", \"b.*\"]"), 1, "", "topics", "topics[1]: topic \"b.*\"", topic.ErrBadTopic},
		{"capture in route", ruleFile(route + "topics = [\"b.$1\"]"), 1, "", "topics", "captures like \"$1\" are for rename rules only", nil},
		{"duplicate target", ruleFile(route + "topics = [\"b\", \"b\"]"), 1, "", "topics", `"b" listed twice`, nil},
		{"bad queue", ruleFile(route + "queues = [\"q q\"]"), 1, "", "queues", "bad queue name", topic.ErrBadTopic},
		{"duplicate queue", ruleFile(route + "queues = [\"q\", \"q\"]"), 1, "", "queues", `"q" listed twice`, nil},
		{"missing to", ruleFile("kind = \"rename\"\nmatch = \"a.*\""), 1, "", "to", "missing", nil},
		{"capture missing", ruleFile("kind = \"rename\"\nmatch = \"legacy.*\"\nto = \"orders.$2\""), 1, "", "to", `"orders.$2" uses a capture that does not exist: $2, and pattern "legacy.*" has 1 wildcard(s)`, nil},
		{"capture zero", ruleFile("kind = \"rename\"\nmatch = \"legacy.*\"\nto = \"orders.$0\""), 1, "", "to", "capture that does not exist: $0", nil},
		{"capture braces", ruleFile("kind = \"rename\"\nmatch = \"a.*\"\nto = \"b.${x}\""), 1, "", "to", `"${x}" is not a capture`, nil},
		{"capture unclosed", ruleFile("kind = \"rename\"\nmatch = \"a.*\"\nto = \"b.${1\""), 1, "", "to", `unclosed "${"`, nil},
		{"rename to bad topic", ruleFile("kind = \"rename\"\nmatch = \"a.*\"\nto = \"b..$1\""), 1, "", "to", "does not make a valid topic", topic.ErrBadTopic},
		{"rename to wildcard", ruleFile("kind = \"rename\"\nmatch = \"a.*\"\nto = \"b.*\""), 1, "", "to", "does not make a valid topic", topic.ErrBadTopic},
		{"missing header", ruleFile("kind = \"remove-header\"\nmatch = \">\""), 1, "", "header", "missing", nil},
		{"bad header", ruleFile("kind = \"remove-header\"\nmatch = \">\"\nheader = \"a b\""), 1, "", "header", "not printable ASCII", nil},
		{"long header", ruleFile("kind = \"remove-header\"\nmatch = \">\"\nheader = \"" + strings.Repeat("h", 256) + "\""), 1, "", "header", "name of 256 bytes exceeds 255", nil},
		{"missing value", ruleFile("kind = \"set-header\"\nmatch = \">\"\nheader = \"a\""), 1, "", "value", "missing", nil},
		{"value on remove", ruleFile("kind = \"remove-header\"\nmatch = \">\"\nheader = \"a\"\nvalue = \"x\""), 1, "", "value", "does not apply to kind remove-header", nil},
		{"duplicate name", "[[rule]]\nname = \"n\"\n" + route + "topics = [\"b\"]\n[[rule]]\nname = \"n\"\n" + route + "topics = [\"c\"]\n", 2, "n", "name", "duplicate name, rule 1 has it too", nil},
		{"second rule", ruleFile(route+"topics = [\"b\"]") + ruleFile("name = \"two\"\nkind = \"nope\"\nmatch = \"a\""), 2, "two", "kind", "unknown kind", nil},
		// Route loops and chains.
		{"self loop", ruleFile("name = \"audit\"\nkind = \"route\"\nmatch = \"audit.>\"\ntopics = [\"audit.all\"]"), 1, "audit", "topics", "route loop audit.all → audit.all (rules 1)", nil},
		{"two-rule loop", ruleFile("kind = \"route\"\nmatch = \"a.x\"\ntopics = [\"b.x\"]") + ruleFile("name = \"back\"\nkind = \"route\"\nmatch = \"b.x\"\ntopics = [\"a.x\"]"), 1, "", "topics", "route loop b.x → a.x → b.x (rules 2, 1)", nil},
		{"loop behind selector", ruleFile("kind = \"route\"\nmatch = \"a.>\"\nselector = '!exists(seen)'\ntopics = [\"a.copy\"]"), 1, "", "topics", "route loop a.copy → a.copy", nil},
		{"loop through rename", ruleFile("kind = \"rename\"\nmatch = \"copy.*\"\nto = \"in.$1\"") + ruleFile("kind = \"route\"\nmatch = \"in.*\"\ntopics = [\"copy.x\"]"), 2, "", "topics", "route loop copy.x → copy.x", nil},
		{"chain too long", "max_hops = 2\n" + ruleFile("kind = \"route\"\nmatch = \"a\"\ntopics = [\"b\"]") + ruleFile("kind = \"route\"\nmatch = \"b\"\ntopics = [\"c\"]") + ruleFile("kind = \"route\"\nmatch = \"c\"\ntopics = [\"d\"]"), 0, "", "max_hops", "route chain b → c → d makes copies of hop 3, above max_hops 2", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFile(writeFile(t, tc.src))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !errors.Is(err, ErrInvalidRules) {
				t.Errorf("%v does not wrap ErrInvalidRules", err)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("%v does not wrap %v", err, tc.cause)
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("%T is not a *RuleError: %v", err, err)
			}
			if re.Index != tc.index || re.Name != tc.rname || re.Field != tc.field || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got index %d name %q field %q: %v\nwant index %d name %q field %q containing %q", re.Index, re.Name, re.Field, err, tc.index, tc.rname, tc.field, tc.want)
			}
		})
	}
}

func TestLoadNoFalseLoops(t *testing.T) {
	for name, src := range map[string]string{
		"chain within max_hops":  ruleFile("kind = \"route\"\nmatch = \"a\"\ntopics = [\"b\"]") + ruleFile("kind = \"route\"\nmatch = \"b\"\ntopics = [\"c\"]"),
		"target outside pattern": ruleFile("kind = \"route\"\nmatch = \"orders.>\"\ntopics = [\"audit.orders\"]"),
		"renamed away first":     ruleFile("kind = \"rename\"\nmatch = \"a.copy\"\nto = \"done.copy\"") + ruleFile("kind = \"route\"\nmatch = \"a.*\"\ntopics = [\"a.copy\"]"),
		"moved away first":       ruleFile("kind = \"route\"\nmatch = \"a.copy\"\nmode = \"move\"\nqueues = [\"q\"]") + ruleFile("kind = \"route\"\nmatch = \"a.*\"\ntopics = [\"a.copy\"]"),
		"diamond":                ruleFile("kind = \"route\"\nmatch = \"a\"\ntopics = [\"b\", \"c\"]") + ruleFile("kind = \"route\"\nmatch = \"b\"\ntopics = [\"d\"]") + ruleFile("kind = \"route\"\nmatch = \"c\"\ntopics = [\"d\"]"),
	} {
		if _, err := Parse([]byte(src)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRuleErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		e    RuleError
		want string
	}{
		{RuleError{Index: 2, Name: "x", Field: "to", Err: errors.New("bad")}, `rules: rule 2 ("x"), field to: bad`},
		{RuleError{Index: 3, Err: errors.New("bad")}, `rules: rule 3, bad`},
		{RuleError{Field: "max_hops", Err: errors.New("bad")}, `rules: field max_hops: bad`},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
