package playbook

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/task"
)

// TemplateData is what an action's templates see: {{.Account.name}} is
// not valid, Go field names are: {{.Account.Name}}, {{.Account.ARR}},
// {{.Playbook.Name}}, {{.Task.Title}}, {{.Task.DueAt}}.
type TemplateData struct {
	Account  snapshot.Snapshot
	Playbook PlaybookRef
	// Task is the task this firing created (zero when it created none, or
	// for the task action's own templates).
	Task task.Task
	// Reason says why the playbook fired ("health band yellow → red").
	Reason string
}

// PlaybookRef names the playbook in templates and webhook payloads.
type PlaybookRef struct {
	ID   string `json:"playbook_id"`
	Name string `json:"name"`
}

type textTemplate = template.Template

// actionTemplates are an action's parsed templates (nil when not used).
type actionTemplates struct {
	title, description, subject, body, text *textTemplate
}

// sample is what a template is tried on when saved: it catches misspelt
// fields ({{.Account.Nmae}}), which parsing alone does not.
var sample = TemplateData{
	Account: snapshot.Snapshot{AccountID: "acme", Name: "Acme", Usage30d: map[string]float64{}, OpenTicketsBy: map[string]int{},
		Attributes: map[string]any{}},
	Playbook: PlaybookRef{ID: "p", Name: "Playbook"},
	Task:     task.Task{ID: "t_1", Title: "Call", Status: task.Open, DueAt: &time.Time{}},
}

// funcs are the functions templates may use besides text/template's own.
var funcs = template.FuncMap{
	// percent writes a fraction as a signed whole percentage: -0.45 → "-45%".
	"percent": func(f float64) string { return fmt.Sprintf("%+.0f%%", f*100) },
	// date writes a time (or a *time.Time, empty when nil) as YYYY-MM-DD.
	"date": func(v any) string {
		switch t := v.(type) {
		case time.Time:
			return t.Format(time.DateOnly)
		case *time.Time:
			if t != nil {
				return t.Format(time.DateOnly)
			}
		}
		return ""
	},
}

var templateErr = regexp.MustCompile(`^template: [^:]*:(\d+):(?:(\d+):)?\s*(.*)$`)

// parseTemplate parses src (a field's template) and tries it on sample
// data; a problem names the field and the line and column in its text.
func parseTemplate(field, src string) (*textTemplate, *Problem) {
	if src == "" {
		return nil, nil
	}
	t, err := template.New(field).Option("missingkey=zero").Funcs(funcs).Parse(src)
	if err == nil {
		err = t.Execute(io.Discard, sample)
	}
	if err == nil {
		return t, nil
	}
	p := &Problem{Field: field, Line: 1, Message: err.Error()}
	var ee template.ExecError
	msg := err.Error()
	if errors.As(err, &ee) {
		msg = ee.Err.Error()
	}
	if m := templateErr.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			p.Column, _ = strconv.Atoi(m[2])
		}
		p.Message = m[3]
		// An execution error says `executing "actions[0].body" at <.Account.Nmae>: …`: the field is known.
		if _, rest, ok := strings.Cut(p.Message, "executing \""+field+"\" at "); ok {
			p.Message = rest
		}
	}
	lines := strings.Split(src, "\n")
	if p.Line >= 1 && p.Line <= len(lines) {
		p.Snippet = lines[p.Line-1]
	}
	return nil, p
}

// render executes t on d; a nil template renders as "".
func render(t *textTemplate, d *TemplateData) (string, error) {
	if t == nil {
		return "", nil
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}
