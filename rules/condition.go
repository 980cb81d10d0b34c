package rules

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// condition is a compiled condition: its program on expr's VM and, for
// the commonest shape — the cell's value compared with a number, as in
// `value > 90` — the comparison itself, which a numeric cell is judged by
// without the VM. Both give the same answer (a property test holds them
// to it); the comparison saves the VM's run and boxing the value.
type condition struct {
	prog *vm.Program
	cmp  *comparison // nil unless the condition is value OP number
}

type comparison struct {
	op string // <, <=, >, >=, ==, !=, with value on the left
	k  float64
}

// flipped is the operator that keeps a comparison's meaning with its
// sides swapped: 90 < value is value > 90.
var flipped = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}

// comparisonOf returns the comparison a condition's tree, as written, is,
// or nil.
func comparisonOf(n ast.Node) *comparison {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return nil
	}
	op, ok := flipped[b.Operator]
	if !ok {
		return nil
	}
	if isValue(b.Left) {
		if k, ok := number(b.Right); ok {
			return &comparison{op: b.Operator, k: k}
		}
	}
	if isValue(b.Right) {
		if k, ok := number(b.Left); ok {
			return &comparison{op: op, k: k}
		}
	}
	return nil
}

func isValue(n ast.Node) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == "value"
}

// number returns the value of a numeric literal, negated or not.
func number(n ast.Node) (float64, bool) {
	switch n := n.(type) {
	case *ast.IntegerNode:
		return float64(n.Value), true
	case *ast.FloatNode:
		return n.Value, true
	case *ast.UnaryNode:
		if n.Operator == "-" {
			if k, ok := number(n.Node); ok {
				return -k, true
			}
		}
	}
	return 0, false
}

func (c *comparison) holds(v float64) bool {
	switch c.op {
	case "<":
		return v < c.k
	case "<=":
		return v <= c.k
	case ">":
		return v > c.k
	case ">=":
		return v >= c.k
	case "==":
		return v == c.k
	}
	return v != c.k
}
