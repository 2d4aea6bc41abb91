// Package rule compiles and evaluates the rules users write against the
// account snapshot (segments, playbook triggers, stage and onboarding
// definitions, success criteria), in the expr language
// (https://expr-lang.org). A rule is compiled and type-checked when it is
// saved, so a typo is refused with its line, column and reason instead of
// failing later for every account.
package rule

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

// MaxLength bounds a rule's text: rules are one line or a few, and the
// compiler's work grows with the text.
const MaxLength = 4096

// Kind is what a rule evaluates to.
type Kind int

// The kinds of rules.
const (
	Bool   Kind = iota // a condition: segments, triggers, stages
	Number             // a value: health measures
)

// Rule is a compiled rule.
type Rule struct {
	Source  string
	kind    Kind
	program *vm.Program
}

// Error is a rule that does not compile: where and why.
type Error struct {
	Line    int    `json:"line"`
	Column  int    `json:"column" doc:"1-based, in characters."`
	Message string `json:"message"`
	Snippet string `json:"snippet,omitempty" doc:"The line, with a caret under the position."`
}

func (e *Error) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
}

// Compile checks source against the snapshot's fields and returns the rule,
// or an *Error naming the position and the reason.
func Compile(source string, kind Kind) (*Rule, error) {
	if strings.TrimSpace(source) == "" {
		return nil, &Error{Line: 1, Column: 1, Message: "the rule is empty"}
	}
	if len(source) > MaxLength {
		return nil, &Error{Line: 1, Column: 1, Message: fmt.Sprintf("the rule is %d bytes long; at most %d", len(source), MaxLength)}
	}
	opts := []expr.Option{expr.Env(snapshot.Snapshot{}), expr.Optimize(true)}
	if kind == Bool {
		opts = append(opts, expr.AsBool())
	} else {
		opts = append(opts, expr.AsFloat64())
	}
	p, err := expr.Compile(source, opts...)
	if err != nil {
		return nil, positioned(err)
	}
	return &Rule{Source: source, kind: kind, program: p}, nil
}

// positioned turns expr's error into an *Error. expr's columns are 0-based.
func positioned(err error) *Error {
	var fe *file.Error
	if errors.As(err, &fe) {
		msg := fe.Message
		// expr names the Go type of the environment; users know the snapshot.
		msg = strings.ReplaceAll(msg, "snapshot.Snapshot", "the snapshot")
		if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
			if near := nearest(name); near != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", near)
			}
		}
		return &Error{Line: max(fe.Line, 1), Column: fe.Column + 1, Message: msg, Snippet: strings.Trim(fe.Snippet, "\n")}
	}
	return &Error{Line: 1, Column: 1, Message: err.Error()}
}

// Match evaluates a Bool rule for one snapshot.
func (r *Rule) Match(s *snapshot.Snapshot) (bool, error) {
	if r.kind != Bool {
		return false, errors.New("rule: Match of a number rule")
	}
	v, err := expr.Run(r.program, s)
	if err != nil {
		return false, fmt.Errorf("rule %q on %s: %w", r.Source, s.AccountID, err)
	}
	return v.(bool), nil
}

// Value evaluates a Number rule for one snapshot.
func (r *Rule) Value(s *snapshot.Snapshot) (float64, error) {
	if r.kind != Number {
		return 0, errors.New("rule: Value of a condition")
	}
	v, err := expr.Run(r.program, s)
	if err != nil {
		return 0, fmt.Errorf("rule %q on %s: %w", r.Source, s.AccountID, err)
	}
	return v.(float64), nil
}

// Fields returns the snapshot fields the rule reads (as rules name them),
// sorted: what a snapshot must compute for it (snapshot.Reader.Only).
func (r *Rule) Fields() []string {
	seen := names{}
	node := r.program.Node()
	ast.Walk(&node, seen)
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// names collects the identifiers of a rule's tree: the snapshot's fields,
// and the names of its let bindings and closures' variables, which name no
// field (asking a snapshot for them computes nothing more).
type names map[string]bool

func (n names) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok {
		n[id.Value] = true
	}
}

// nearest is the snapshot field closest to name (at most a third of its
// letters away), or "".
func nearest(name string) string {
	best, bestD := "", len(name)/3+1
	for _, f := range snapshot.Fields {
		if d := distance(name, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
