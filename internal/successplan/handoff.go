package successplan

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// HandoffParts are the parts of a complete sales→CS handoff record (引き継ぎ),
// by their JSON names: why the customer bought, their challenges, what was
// proposed and what was promised, how they will judge success, and who
// decides. Each counts the same towards completeness.
var HandoffParts = []string{"why_bought", "challenges", "proposed", "promised", "success_criteria", "decision_makers"}

// HandoffCompleteness is how much of a handoff record is filled in.
type HandoffCompleteness struct {
	Percent  int      `json:"percent" doc:"Filled parts / 6, in percent, rounded down."`
	Complete bool     `json:"complete" doc:"Every part is filled in."`
	Filled   int      `json:"filled"`
	Total    int      `json:"total"`
	Missing  []string `json:"missing" doc:"The parts left blank, by field name, in the form's order."`
}

// placeholders are what people type into a field they cannot fill yet;
// such a field counts as blank.
var placeholders = map[string]bool{"-": true, "--": true, "n/a": true, "na": true, "tbd": true, "todo": true, "none": true,
	"?": true, "unknown": true, "未定": true, "なし": true, "不明": true}

// blank reports whether a handoff field says nothing.
func blank(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return s == "" || placeholders[strings.TrimRight(s, ".")]
}

// Assess scores a handoff record; a missing record is the
// zero Handoff (every part missing).
func Assess(h account.Handoff) HandoffCompleteness {
	vals := []string{h.WhyBought, h.Challenges, h.Proposed, h.Promised, h.SuccessCriteria, h.DecisionMakers}
	c := HandoffCompleteness{Total: len(HandoffParts), Missing: []string{}}
	for i, v := range vals {
		if blank(v) {
			c.Missing = append(c.Missing, HandoffParts[i])
		} else {
			c.Filled++
		}
	}
	c.Percent = c.Filled * 100 / c.Total
	c.Complete = c.Filled == c.Total
	return c
}

// SplitCriteria splits a handoff's success criteria into one criterion a
// line (bullets and numbering removed); semicolons separate criteria on one
// line too. Blank and placeholder items are dropped.
func SplitCriteria(text string) []string {
	var out []string
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' || r == ';' || r == '；' }) {
		item := strings.TrimSpace(line)
		item = strings.TrimLeft(item, "-*•・ \t")
		// "1." and "1)" numbering.
		if i := strings.IndexAny(item, ".)"); i > 0 && i <= 3 && strings.Trim(item[:i], "0123456789") == "" {
			item = strings.TrimSpace(item[i+1:])
		}
		if !blank(item) {
			out = append(out, item)
		}
	}
	return out
}

// GoalSuggestion is a success criterion from the handoff that the plan has no
// goal for yet: the first goals a plan should get.
type GoalSuggestion struct {
	Title  string `json:"title" doc:"The criterion as sales recorded it."`
	Source string `json:"source" enum:"handoff"`
}

// Suggestions are the handoff's success criteria that no goal of the plan
// has as its title yet (compared case-insensitively, ignoring spaces at
// the ends).
func Suggestions(h account.Handoff, goals []PlanGoal) []GoalSuggestion {
	have := map[string]bool{}
	for _, g := range goals {
		have[normTitle(g.Title)] = true
	}
	out := []GoalSuggestion{}
	for _, c := range SplitCriteria(h.SuccessCriteria) {
		if !have[normTitle(c)] {
			have[normTitle(c)] = true
			out = append(out, GoalSuggestion{Title: c, Source: SourceHandoff})
		}
	}
	return out
}

func normTitle(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// maxTitle is the longest goal title; a longer criterion is cut there and
// kept whole in the description.
const maxTitle = 500

// GoalsFromHandoff adds a draft goal, tracked by hand until the CSM gives
// it a rule or metric, for each of the handoff's success criteria that the
// plan has no goal for, creating a draft plan when there is none (owned by
// owner). It returns the goals it added (none when every criterion is
// already a goal), and whether it created the plan.
func GoalsFromHandoff(ctx context.Context, q store.Querier, h account.Handoff, owner string, now time.Time) ([]PlanGoal, bool, error) {
	_, created, err := EnsurePlan(ctx, q, h.AccountID, owner, now)
	if err != nil {
		return nil, false, err
	}
	goals, err := Goals(ctx, q, h.AccountID)
	if err != nil {
		return nil, created, err
	}
	var out []PlanGoal
	for _, s := range Suggestions(h, goals) {
		g := PlanGoal{AccountID: h.AccountID, Title: s.Title, Tracking: TrackManual, Status: GoalDraft, Source: SourceHandoff,
			Description: "From the sales handoff's success criteria."}
		if len(g.Title) > maxTitle {
			g.Description = s.Title
			g.Title = cut(s.Title, maxTitle)
		}
		if g, err = AddGoal(ctx, q, g, now); err != nil {
			return nil, created, err
		}
		out = append(out, g)
	}
	return out, created, nil
}

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

// MissingHandoff is a paying account whose handoff record is absent or
// incomplete.
type MissingHandoff struct {
	AccountID    string              `json:"account_id"`
	Name         string              `json:"name"`
	OwnerEmail   string              `json:"owner_email,omitempty"`
	MRR          float64             `json:"mrr" doc:"Current MRR in the reporting currency."`
	HasHandoff   bool                `json:"has_handoff"`
	Completeness HandoffCompleteness `json:"completeness"`
}

// MissingHandoffs lists the accounts paying at now (MRR > 0) that have no
// handoff record or, with incomplete, one that is not complete: largest MRR
// first, since a broken promise costs most there.
func MissingHandoffs(ctx context.Context, q store.Querier, now time.Time, incomplete bool) ([]MissingHandoff, error) {
	var accts []account.Account
	for after := ""; ; {
		page, err := account.List(ctx, q, account.ListOptions{After: after, Limit: 1000})
		if err != nil {
			return nil, fmt.Errorf("missing handoffs: %w", err)
		}
		accts = append(accts, page...)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	ids := make([]string, len(accts))
	for i, a := range accts {
		ids[i] = a.ID
	}
	mrr, err := billing.CurrentMRR(ctx, q, ids, now)
	if err != nil {
		return nil, fmt.Errorf("missing handoffs: %w", err)
	}
	conv, err := billing.LoadConverter(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("missing handoffs: %w", err)
	}
	handoffs := map[string]account.Handoff{}
	for afterKey, afterID := any(nil), ""; ; {
		page, err := account.SearchHandoffs(ctx, q, account.HandoffFilter{AfterKey: afterKey, AfterID: afterID, Limit: 1000})
		if err != nil {
			return nil, fmt.Errorf("missing handoffs: %w", err)
		}
		for _, h := range page {
			handoffs[h.AccountID] = h
		}
		if len(page) < 1000 {
			break
		}
		last := page[len(page)-1]
		afterKey, afterID = last.AccountID, last.AccountID
	}
	out := []MissingHandoff{}
	for _, a := range accts {
		if mrr[a.ID] == nil {
			continue
		}
		total, err := conv.Total(mrr[a.ID], now)
		if err != nil {
			return nil, fmt.Errorf("missing handoffs: MRR of %s: %w", a.ID, err)
		}
		if total <= 0 {
			continue
		}
		h, ok := handoffs[a.ID]
		c := Assess(h)
		if ok && (c.Complete || !incomplete) {
			continue
		}
		out = append(out, MissingHandoff{AccountID: a.ID, Name: a.Name, OwnerEmail: a.OwnerEmail, MRR: total, HasHandoff: ok, Completeness: c})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].MRR > out[j].MRR })
	return out, nil
}
