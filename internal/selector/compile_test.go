package selector

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileString(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`region == "eu"`, `region == "eu"`},
		{`region=="eu"&&amount>100`, `region == "eu" && amount > 100`},
		{`a==1||b==2&&c==3`, `a == 1 || b == 2 && c == 3`},
		{`(a==1||b==2)&&c==3`, `(a == 1 || b == 2) && c == 3`},
		{`((a==1)||(b==2))||c==3`, `a == 1 || b == 2 || c == 3`},
		{`!(a == 1)`, `!a == 1`},
		{`!!exists(a)`, `!!exists(a)`},
		{`!(a == 1 && b == 2)`, `!(a == 1 && b == 2)`},
		{`header("x-trace") != ""`, `x-trace != ""`},
		{`header("x trace") != ""`, `header("x trace") != ""`},
		{`header("in") == 1`, `header("in") == 1`},
		{`exists(header("Nats-Msg-Id"))`, `exists(Nats-Msg-Id)`},
		{`$topic like "orders.*"`, `$topic like "orders.*"`},
		{`$priority >= 5`, `$priority >= 5`},
		{`tier in ("gold","platinum", 3, true)`, `tier in ("gold", "platinum", 3, true)`},
		{`a == "q\"\\\n\r\t\x00\xff"`, `a == "q\"\\\n\r\t\x00\xff"`},
		{`a == -12.50`, `a == -12.50`},
		{`true`, `true`},
		{`false || true == ok`, `false || true == ok`},
		{"a\t==\n1", `a == 1`},
		{`app.version == "1.2"`, `app.version == "1.2"`},
		{`"eu" == region`, `"eu" == region`},
		{`a == b`, `a == b`},
	} {
		s, err := Compile(tc.src)
		if err != nil {
			t.Errorf("Compile(%q): %v", tc.src, err)
			continue
		}
		if got := s.String(); got != tc.want {
			t.Errorf("Compile(%q).String() = %q, want %q", tc.src, got, tc.want)
		}
		if s.Source() != tc.src {
			t.Errorf("Source() = %q", s.Source())
		}
		s2, err := Compile(s.String())
		if err != nil || s2.String() != s.String() {
			t.Errorf("round trip of %q: %v, %v", tc.src, s2, err)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		src  string
		col  int
		want string
	}{
		{``, 1, `expected condition, got end of input`},
		{`region == "eu" &&`, 18, `expected condition after "&&", got end of input`},
		{`amount > 100 && x ==`, 21, `expected value after "==", got end of input`},
		{`region = "eu"`, 8, `unexpected "=" (use "==" to compare)`},
		{`a == 1 & b == 2`, 8, `unexpected "&" (use "&&")`},
		{`a == 1 | b == 2`, 8, `unexpected "|" (use "||")`},
		{`a == 'x'`, 6, `strings are double-quoted`},
		{`a == "abc`, 6, `unterminated string`},
		{`a == "a\q"`, 8, `unknown escape \q`},
		{`a == "\x4"`, 7, `expected two hex digits after \x`},
		{`a == 1.`, 8, `expected digit after decimal point`},
		{`a == 100abc`, 9, `unexpected 'a' right after number 100`},
		{`a == 1.2.3`, 9, `unexpected '.' right after number 1.2`},
		{`$foo == 1`, 1, `unknown built-in "$foo"`},
		{`region`, 7, `expected comparison operator (== != < <= > >= in like) after "region", got end of input`},
		{`region "eu"`, 8, `expected comparison operator`},
		{`(a == 1`, 8, `expected ")" or an operator after "1", got end of input`},
		{`a == 1)`, 7, `expected "&&", "||" or end of input after "1", got ")"`},
		{`a == 1 b == 2`, 8, `got identifier b`},
		{`exists a`, 8, `expected "(" after "exists", got identifier a`},
		{`exists($topic)`, 8, `expected header name after "(", got built-in $topic`},
		{`exists(in)`, 8, `got keyword in`},
		{`exists(a`, 9, `expected ")" after "a", got end of input`},
		{`header(a) == 1`, 8, `expected header name string after "(", got identifier a`},
		{`header("") == 1`, 8, `empty header name`},
		{`header("a" == 1`, 12, `expected ")"`},
		{`a in "x"`, 6, `expected "(" after "in"`},
		{`a in ()`, 7, `expected literal (string, number, true or false) in list, got ")"`},
		{`a in (b)`, 7, `expected literal (string, number, true or false) in list, got identifier b`},
		{`a in ("x" "y")`, 11, `expected "," or ")"`},
		{`a like 5`, 8, `expected pattern string after "like", got number 5`},
		{`a like "x\\"`, 8, `like pattern ends in a lone "\"`},
		{`$priority like "5"`, 11, `like needs a header, $topic or a string`},
		{`a < true`, 3, `ordering operator "<" cannot compare booleans`},
		{`in == 1`, 1, `expected condition, got keyword in`},
		{`a == 1 @`, 8, `unexpected character '@'`},
		{"a == \x01", 6, `unexpected character '\x01'`},
		{`== 1`, 1, `expected condition, got "=="`},
		{strings.Repeat("(", MaxDepth+1) + "true" + strings.Repeat(")", MaxDepth+1), MaxDepth + 1, `nesting deeper than 32`},
		{strings.Repeat("!", MaxDepth+1) + "true", MaxDepth + 1, `nesting deeper than 32`},
		{strings.Repeat(" ", MaxLen+1), MaxLen + 1, `selector of 4097 bytes exceeds 4096`},
	} {
		_, err := Compile(tc.src)
		if err == nil {
			t.Errorf("Compile(%q): no error, want %q", tc.src, tc.want)
			continue
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Compile(%q): %v does not wrap ErrSyntax", tc.src, err)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("Compile(%q): %T is not a *SyntaxError", tc.src, err)
		}
		if se.Column != tc.col || !strings.Contains(se.Msg, tc.want) {
			t.Errorf("Compile(%q) = %q (column %d), want column %d containing %q", tc.src, err, se.Column, tc.col, tc.want)
		}
		if !strings.HasPrefix(err.Error(), "selector: at column ") {
			t.Errorf("Compile(%q): message %q lacks the prefix", tc.src, err)
		}
	}
}

func TestCompileDepthLimitExact(t *testing.T) {
	src := strings.Repeat("(", MaxDepth) + "true" + strings.Repeat(")", MaxDepth)
	if _, err := Compile(src); err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
	long := "a == 1" + strings.Repeat(" && a == 1", (MaxLen-6)/10)
	s, err := Compile(long)
	if err != nil {
		t.Fatalf("long flat chain: %v", err)
	}
	if !s.Eval(nil, 0, block("a", "1")) {
		t.Fatal("long chain does not match")
	}
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	MustCompile("a ==")
}
