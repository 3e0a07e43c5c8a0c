package rules

import (
	"errors"
	"fmt"
	"strings"
)

// A copy made by a route rule runs through the rules again, as if
// published to its target, so route rules can copy a copy. checkRoutes
// makes sure that this ends, at load time:
//
//   - The nodes of a graph are the route targets (plain topics). There is
//     an edge Y -> Z when a message published to Y can be copied to Z in
//     one pass over the rules: the pass is explored from rule 1 with Y as
//     the topic, following renames, and stopping at an unconditional move.
//     A selector is taken as "may match": both outcomes are explored, since
//     a selector's verdict depends on the message.
//   - A cycle in that graph is a route loop, refused with the rule whose
//     copy closes it. As selectors are ignored, a loop that only a selector
//     would break is refused too: write the patterns so that the targets
//     do not match them.
//   - Without cycles the longest chain of copies is finite; it must fit in
//     max_hops (a copy of the published message is hop 1). At run time
//     Apply still drops copies past max_hops or max_copies (Output.Skipped),
//     a belt to these braces.
//
// maxStates bounds the exploration (renames behind selectors double the
// paths to follow); a rule set that needs more is refused.
const maxStates = 1 << 16

// edge is a copy from one pass to a route target, made by rules[rule].
type edge struct {
	to   string
	rule int // index into Engine.rules
}

var errTooComplex = errors.New("too many renames behind selectors to check for route loops")

// checkRoutes refuses route loops and chains longer than max_hops.
func (e *Engine) checkRoutes() error {
	budget := maxStates
	g := &routeGraph{e: e, budget: &budget, edges: map[string][]edge{}, color: map[string]int{}, chain: map[string]int{}, next: map[string]string{}}
	for i := range e.rules {
		for _, t := range e.rules[i].topics {
			if err := g.visit(string(t), nil); err != nil {
				return err
			}
		}
	}
	// The longest chain starts at some target: its length in nodes is the
	// highest hop a copy reaches.
	longest, from := 0, ""
	for t, n := range g.chain {
		if n > longest || n == longest && t < from {
			longest, from = n, t
		}
	}
	if longest > e.maxHops {
		path := []string{from}
		for t := from; g.next[t] != ""; t = g.next[t] {
			path = append(path, g.next[t])
		}
		return &RuleError{Field: "max_hops", Err: fmt.Errorf("route chain %s makes copies of hop %d, above max_hops %d",
			strings.Join(path, " → "), longest, e.maxHops)}
	}
	return nil
}

// routeGraph is the depth-first search over route targets.
type routeGraph struct {
	e      *Engine
	budget *int
	edges  map[string][]edge
	color  map[string]int    // 0 new, 1 on the path, 2 done
	chain  map[string]int    // done nodes: nodes in the longest chain from here
	next   map[string]string // done nodes: the next node of that chain
}

// path is the search's current chain of nodes and the edges between them.
type pathElem struct {
	node string
	via  int // rule index of the edge into node; -1 for the first
}

func (g *routeGraph) visit(t string, path []pathElem) error {
	switch g.color[t] {
	case 2:
		return nil
	case 1:
		return g.loopError(t, path)
	}
	g.color[t] = 1
	edges, err := g.reach(t)
	if err != nil {
		return err
	}
	g.chain[t] = 1
	for _, ed := range edges {
		if len(path) == 0 {
			path = append(path, pathElem{node: t, via: -1})
		}
		if err := g.visit(ed.to, append(path, pathElem{node: ed.to, via: ed.rule})); err != nil {
			return err
		}
		if n := g.chain[ed.to] + 1; n > g.chain[t] {
			g.chain[t], g.next[t] = n, ed.to
		}
	}
	g.color[t] = 2
	return nil
}

// loopError describes the cycle that ends at path's last node, back to t.
func (g *routeGraph) loopError(t string, path []pathElem) error {
	start := 0
	for i, p := range path {
		if p.node == t {
			start = i
			break
		}
	}
	// path ends with t itself (the node just re-entered): the cycle is
	// path[start:], whose last edge closes it.
	cyc := path[start:]
	nodes := make([]string, len(cyc))
	var rules []string
	for i, p := range cyc {
		nodes[i] = p.node
		if i > 0 {
			rules = append(rules, fmt.Sprint(g.e.rules[p.via].index))
		}
	}
	closing := &g.e.rules[cyc[len(cyc)-1].via]
	return &RuleError{Index: closing.index, Name: closing.name, Field: "topics", Err: fmt.Errorf(
		"route loop %s (rules %s): a copy would be routed again forever (selectors are not considered; see Loops in the package documentation)",
		strings.Join(nodes, " → "), strings.Join(rules, ", "))}
}

// reach returns the route edges out of one pass over the rules on topic t.
func (g *routeGraph) reach(t string) ([]edge, error) {
	if ed, ok := g.edges[t]; ok {
		return ed, nil
	}
	type state struct {
		topic string
		next  int
	}
	var out []edge
	seenEdge := map[edge]bool{}
	seen := map[state]bool{}
	work := []state{{t, 0}}
	for len(work) > 0 {
		s := work[len(work)-1]
		work = work[:len(work)-1]
		if seen[s] {
			continue
		}
		seen[s] = true
		if *g.budget--; *g.budget < 0 {
			return nil, &RuleError{Err: errTooComplex}
		}
		tb := []byte(s.topic)
	rules:
		for i := s.next; i < len(g.e.rules); i++ {
			r := &g.e.rules[i]
			var caps captures
			if !r.pat.match(tb, &caps) {
				continue
			}
			maybe := r.sel != nil
			switch r.kind {
			case kindRoute:
				for _, y := range r.topics {
					if ed := (edge{string(y), i}); !seenEdge[ed] {
						seenEdge[ed] = true
						out = append(out, ed)
					}
				}
				if r.move && !maybe {
					break rules
				}
			case kindRename:
				nb, ok := r.to.expand(nil, tb, &caps)
				if !ok {
					continue // skipped at run time too
				}
				work = append(work, state{string(nb), i + 1})
				if !maybe {
					break rules
				}
			}
		}
	}
	g.edges[t] = out
	return out, nil
}
