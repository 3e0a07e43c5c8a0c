package selector

// nodeKind is the kind of a compiled expression node.
type nodeKind uint8

const (
	nAnd    nodeKind = iota // all kids true (n-ary, flattened)
	nOr                     // any kid true (n-ary, flattened)
	nNot                    // kids[0] false
	nConst                  // true / false
	nExists                 // header name present
	nCmp                    // a op b
	nIn                     // a in (list)
	nLike                   // a like glob
)

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var opText = [...]string{opEq: "==", opNe: "!=", opLt: "<", opLe: "<=", opGt: ">", opGe: ">="}

// node is one node of the expression tree Compile builds; Eval walks it.
// The tree is never changed after Compile, so a Selector is safe for
// concurrent use.
type node struct {
	kind nodeKind
	op   cmpOp
	val  bool // nConst
	kids []*node
	a, b operand   // nCmp: a op b; nIn, nLike: a
	list []operand // nIn
	glob []globElem
	pat  []byte // nLike: the pattern as written (decoded), for String
	name []byte // nExists
}

// operandKind says where an operand's value comes from.
type operandKind uint8

const (
	oHeader   operandKind = iota // the first value of header name
	oTopic                       // $topic
	oPriority                    // $priority
	oString                      // "literal"
	oNumber                      // 12.5
	oBool                        // true / false
)

// operand is one side of a comparison.
type operand struct {
	kind operandKind
	name []byte // oHeader
	text []byte // oString: the decoded bytes; oNumber: the source text
	num  number // oNumber, parsed from text
	b    bool   // oBool
}

func (o *operand) isLiteral() bool { return o.kind >= oString }
