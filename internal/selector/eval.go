package selector

// env is what one Eval sees.
type env struct {
	topic    []byte
	priority uint8
	headers  []byte // validated
}

// value is an operand resolved against one message. A header value is a
// string and, when its bytes say so, also a number (parseNumber) and a
// boolean (exactly "true" or "false").
type value struct {
	present        bool
	hasStr, hasNum bool
	hasBool        bool
	str            []byte
	num            number
	b              bool
}

// Eval reports whether a message with this topic, priority and encoded
// header block (internal/wire's layout) matches. It allocates nothing and
// never panics; a malformed header block matches no selector (not even
// "true").
func (s *Selector) Eval(topic []byte, priority uint8, headers []byte) bool {
	if !validBlock(headers) {
		return false
	}
	e := env{topic: topic, priority: priority, headers: headers}
	return s.root.eval(&e)
}

// EvalChecked is Eval for a header block the caller has already checked
// (wire.CheckHeaders accepted it, as wire.DecodeMsg does for every message
// the router reads): it skips Eval's walk over the block. On a block that
// was not checked it may read out of bounds and panic.
func (s *Selector) EvalChecked(topic []byte, priority uint8, headers []byte) bool {
	e := env{topic: topic, priority: priority, headers: headers}
	return s.root.eval(&e)
}

func (n *node) eval(e *env) bool {
	switch n.kind {
	case nAnd:
		for _, k := range n.kids {
			if !k.eval(e) {
				return false
			}
		}
		return true
	case nOr:
		for _, k := range n.kids {
			if k.eval(e) {
				return true
			}
		}
		return false
	case nNot:
		return !n.kids[0].eval(e)
	case nConst:
		return n.val
	case nExists:
		_, ok := lookup(e.headers, n.name)
		return ok
	case nCmp:
		return compare(n.op, n.a.resolve(e), n.b.resolve(e))
	case nIn:
		a := n.a.resolve(e)
		if !a.present {
			return false
		}
		for i := range n.list {
			if compare(opEq, a, n.list[i].resolve(e)) {
				return true
			}
		}
		return false
	case nLike:
		a := n.a.resolve(e)
		return a.present && a.hasStr && globMatch(n.glob, a.str)
	}
	return false
}

// resolve turns o into a value for this message.
func (o *operand) resolve(e *env) value {
	switch o.kind {
	case oHeader:
		v, ok := lookup(e.headers, o.name)
		if !ok {
			return value{}
		}
		r := value{present: true, hasStr: true, str: v}
		r.num, r.hasNum = parseNumber(v)
		switch string(v) {
		case "true":
			r.hasBool, r.b = true, true
		case "false":
			r.hasBool = true
		}
		return r
	case oTopic:
		return value{present: true, hasStr: true, str: e.topic}
	case oPriority:
		return value{present: true, hasNum: true, num: number{ip: priorityText[e.priority]}}
	case oString:
		return value{present: true, hasStr: true, str: o.text}
	case oNumber:
		return value{present: true, hasNum: true, num: o.num}
	default:
		return value{present: true, hasBool: true, b: o.b}
	}
}

// compare applies op to a and b:
//
//  1. either absent: false, for every operator (!= included);
//  2. both numbers: exact decimal comparison;
//  3. both strings: byte-wise comparison;
//  4. both booleans: == and != only (Compile refuses ordering);
//  5. otherwise the types differ: != is true, the rest false.
func compare(op cmpOp, a, b value) bool {
	if !a.present || !b.present {
		return false
	}
	var c int
	switch {
	case a.hasNum && b.hasNum:
		c = compareNumbers(a.num, b.num)
	case a.hasStr && b.hasStr:
		c = compareBytes(a.str, b.str)
	case a.hasBool && b.hasBool:
		if a.b != b.b {
			c = 1
		}
		if op > opNe {
			return false
		}
	default:
		return op == opNe
	}
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	default:
		return c >= 0
	}
}
