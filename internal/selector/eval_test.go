package selector

import (
	"testing"
)

func TestEval(t *testing.T) {
	h := block(
		"region", "eu",
		"amount", "150.50",
		"count", "007",
		"neg", "-3",
		"flag", "true",
		"off", "false",
		"empty", "",
		"x-trace", "abc",
		"x trace", "spaced",
		"dup", "first",
		"dup", "second",
		"text", "n/a",
		"in", "kw",
		"big", "123456789012345678901234567890.5",
	)
	topic := []byte("orders.eu.created")
	for _, tc := range []struct {
		src  string
		want bool
	}{
		// Strings.
		{`region == "eu"`, true},
		{`region == "EU"`, false},
		{`region != "us"`, true},
		{`region < "fr"`, true},
		{`region >= "eu"`, true},
		{`"eu" == region`, true},
		{`empty == ""`, true},
		{`header("x-trace") == "abc"`, true},
		{`x-trace == "abc"`, true},
		{`header("x trace") == "spaced"`, true},
		{`header("in") == "kw"`, true},
		{`dup == "first"`, true},
		{`dup == "second"`, false},
		// Numbers: exact decimals; a quoted literal forces strings.
		{`amount > 100`, true},
		{`amount == 150.5`, true},
		{`amount == 150.500`, true},
		{`amount == "150.5"`, false},
		{`amount == "150.50"`, true},
		{`amount < 150.51`, true},
		{`amount <= 150.5`, true},
		{`amount > 150.5`, false},
		{`count == 7`, true},
		{`count == "7"`, false},
		{`neg < 0`, true},
		{`neg == -3.0`, true},
		{`neg > -4`, true},
		{`neg < -2.99`, true},
		{`big > 123456789012345678901234567890`, true},
		{`big < 123456789012345678901234567891`, true},
		{`count < amount`, true},
		{`-0 == 0`, true},
		{`0.10 == 0.1`, true},
		// Type mismatch: != true, the rest false.
		{`text > 100`, false},
		{`text < 100`, false},
		{`text == 100`, false},
		{`text != 100`, true},
		{`region == true`, false},
		{`region != true`, true},
		{`"1" == 1`, false},
		// Booleans.
		{`flag == true`, true},
		{`flag != false`, true},
		{`off == false`, true},
		{`flag == "true"`, true},
		{`true == true`, true},
		{`true`, true},
		{`false`, false},
		{`!false`, true},
		// Absent: every comparison is false; ! is plain negation.
		{`missing == "x"`, false},
		{`missing != "x"`, false},
		{`missing < 1`, false},
		{`missing in ("x")`, false},
		{`missing like "*"`, false},
		{`!(missing == "x")`, true},
		{`!missing == "x"`, true},
		{`missing == missing`, false},
		// exists.
		{`exists(region)`, true},
		{`exists(empty)`, true},
		{`exists(missing)`, false},
		{`!exists(missing)`, true},
		{`exists(header("x trace"))`, true},
		// in.
		{`region in ("us", "eu")`, true},
		{`region in ("us", "apac")`, false},
		{`count in (1, 7)`, true},
		{`count in ("7")`, false},
		{`flag in (false, true)`, true},
		{`$priority in (1, 5)`, true},
		// like.
		{`region like "e*"`, true},
		{`region like "?u"`, true},
		{`region like "u*"`, false},
		{`$topic like "orders.*"`, true},
		{`$topic like "orders.*.created"`, true},
		{`$topic like "orders.?"`, false},
		{`"a*b" like "a\\*b"`, true},
		{`"axb" like "a\\*b"`, false},
		// Built-ins.
		{`$topic == "orders.eu.created"`, true},
		{`$priority == 5`, true},
		{`$priority >= 5 && $priority < 6`, true},
		{`$priority == "5"`, false},
		// Logic.
		{`region == "eu" && amount > 100`, true},
		{`region == "eu" && amount > 1000`, false},
		{`region == "us" || amount > 100`, true},
		{`region == "us" || amount > 1000`, false},
		{`(region == "us" || region == "eu") && !exists(missing)`, true},
		{`!(region == "eu" && amount > 100)`, false},
		{`region == "us" || region == "fr" || region == "eu"`, true},
	} {
		s, err := Compile(tc.src)
		if err != nil {
			t.Errorf("Compile(%q): %v", tc.src, err)
			continue
		}
		if got := s.Eval(topic, 5, h); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.src, got, tc.want)
		}
	}
}

func TestEvalNoHeaders(t *testing.T) {
	for _, src := range []string{`true`, `!exists(a)`, `!(a == 1)`, `$topic == "t"`} {
		if !MustCompile(src).Eval([]byte("t"), 0, nil) {
			t.Errorf("%s: false without headers", src)
		}
	}
	if MustCompile(`a != 1`).Eval([]byte("t"), 0, nil) {
		t.Error("a != 1 matched with a absent")
	}
}

func TestEvalMalformedBlock(t *testing.T) {
	good := block("a", "1")
	for name, b := range map[string][]byte{
		"one byte":       {1},
		"count too high": {5, 0},
		"key too long":   {1, 0, 9, 0, 'a'},
		"empty key":      {1, 0, 0, 0, 0, 0, 0, 0},
		"value too long": {1, 0, 1, 0, 'a', 9, 0, 0, 0},
		"trailing bytes": append(append([]byte{}, good...), 0),
		"truncated":      good[:len(good)-1],
	} {
		for _, src := range []string{`true`, `!exists(a)`, `a == 1`, `!(a == 1)`} {
			if MustCompile(src).Eval([]byte("t"), 0, b) {
				t.Errorf("%s: %s matched a malformed block", name, src)
			}
		}
	}
}

func TestEvalAllocs(t *testing.T) {
	h := block("region", "eu", "amount", "150", "x-trace", "abc", "tier", "gold")
	topic := []byte("orders.eu.created")
	for _, src := range benchSelectors {
		s := MustCompile(src.src)
		if n := testing.AllocsPerRun(100, func() { s.Eval(topic, 3, h) }); n != 0 {
			t.Errorf("%s: %v allocations per Eval", src.src, n)
		}
		if n := testing.AllocsPerRun(100, func() { s.Eval(topic, 3, []byte{9, 9, 9}) }); n != 0 {
			t.Errorf("%s: %v allocations per Eval of a malformed block", src.src, n)
		}
	}
}

// Selectors for TestEvalAllocs and BenchmarkEval: typical filters.
var benchSelectors = []struct{ name, src string }{
	{"eq", `region == "eu"`},
	{"eq-and-gt", `region == "eu" && amount > 100`},
	{"topic-like-prio", `$topic like "orders.*.created" && $priority >= 3`},
	{"in-or-exists", `tier in ("silver", "gold", "platinum") || exists(header("x-trace"))`},
	{"absent-not", `!(missing == "x") && amount <= 1000.50`},
}
