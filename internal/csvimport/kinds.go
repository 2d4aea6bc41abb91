package csvimport

import (
	"context"
	"fmt"
	"math"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/support"
	"github.com/kizuna-cs/kizuna/internal/survey"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// column is one column of a CSV kind.
type column struct {
	name     string
	required bool
}

// check is a set-based validation over the staged rows: its SQL returns
// (line, values...) rows, each one a bad row.
type check struct {
	column string
	sql    func(stage string) string
	reason func(vals []string) string
}

// kind is one importable CSV format of CONTRACT.md. The CSV layout lives
// here; the tables and the merge SQL belong to the domain packages.
type kind struct {
	name    string
	columns []column
	// custom names the object whose custom attributes unknown columns become
	// ("" makes unknown columns an error); idColumn is its id column.
	custom   string
	idColumn string

	stage        string   // staging DDL after the line column
	stageColumns []string // in parse's order
	parse        func(r *row) []any

	// key is the staged columns that identify a row: unique within a file,
	// and used to count rows already stored in target.
	key    []string
	target string

	// direct kinds skip the staging table: their rows are checked in memory
	// and written as they are read (events, see events.go).
	direct bool

	// keep lists optional columns (CSV name → staged and stored name) whose
	// stored value stays as it is when the file lacks the column, so a file
	// with only account_id and name does not blank every other field.
	keep map[string]string

	accountColumn   string // staged column that must name an existing account ("" = none)
	accountOptional bool
	checks          []check
	merge           func(ctx context.Context, q store.Querier, stage string, now int64) (int64, error)
}

func same(names ...string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = n
	}
	return m
}

func cols(spec ...string) []column {
	out := make([]column, len(spec))
	for i, s := range spec {
		if s[len(s)-1] == '*' {
			out[i] = column{s[:len(s)-1], true}
		} else {
			out[i] = column{s, false}
		}
	}
	return out
}

// Kinds lists the importable kinds in CONTRACT.md order.
var Kinds = []string{"accounts", "contacts", "subscriptions", "events", "tickets", "responses", "orders", "costs", "feedback"}

var kinds = map[string]*kind{
	"accounts": {
		name:    "accounts",
		keep:    same("name", "signup_at", "owner_email", "parent_account_id"),
		columns: cols("account_id*", "name", "signup_at", "owner_email", "parent_account_id"),
		custom:  account.ObjectAccount, idColumn: "account_id",
		stage: account.StageAccounts, stageColumns: account.StageAccountsColumns,
		parse: func(r *row) []any {
			id := r.req("account_id")
			parent := r.opt("parent_account_id")
			if parent != nil && parent == id {
				r.fail("parent_account_id", "an account cannot be its own parent")
			}
			return []any{id, r.str("name"), r.time("signup_at", false), r.email("owner_email"), parent}
		},
		key: []string{"account_id"}, target: "accounts",
		checks: []check{{
			column: "parent_account_id",
			sql:    account.MissingParentsSQL,
			reason: func(v []string) string {
				return fmt.Sprintf("unknown parent account %q (not in the database nor in this file)", v[0])
			},
		}},
		merge: account.MergeAccounts,
	},
	"contacts": {
		name:    "contacts",
		keep:    same("email", "name", "role"),
		columns: cols("contact_id*", "account_id*", "email", "name", "role"),
		custom:  account.ObjectContact, idColumn: "contact_id",
		stage: account.StageContacts, stageColumns: account.StageContactsColumns,
		parse: func(r *row) []any {
			email, _ := r.email("email").(string)
			return []any{r.req("contact_id"), r.req("account_id"), email, r.str("name"), r.str("role")}
		},
		key: []string{"contact_id"}, target: "contacts", accountColumn: "account_id",
		merge: account.MergeContacts,
	},
	"subscriptions": {
		name:    "subscriptions",
		keep:    map[string]string{"end_date": "end_at", "plan": "plan", "product": "product", "quantity": "quantity"},
		columns: cols("subscription_id*", "account_id*", "start_date*", "end_date", "mrr*", "currency", "plan", "product", "quantity"),
		stage:   billing.StagePeriods, stageColumns: billing.StagePeriodsColumns,
		parse: func(r *row) []any {
			start, end := r.time("start_date", true), r.time("end_date", false)
			if s, ok := start.(int64); ok {
				if e, ok := end.(int64); ok && e <= s {
					r.fail("end_date", "end_date must be after start_date (it is exclusive)")
				}
			}
			cur := r.currency("currency")
			mrr := r.money("mrr", cur, false)
			return []any{r.req("subscription_id"), start, end, r.req("account_id"), mrr, cur, r.str("plan"), r.str("product"), r.number("quantity")}
		},
		key: []string{"subscription_id", "start_at"}, target: "subscription_periods", accountColumn: "account_id",
		checks: []check{{
			column: "start_date",
			sql:    billing.OverlapsSQL,
			reason: func(v []string) string {
				if v[1] == "0" {
					return fmt.Sprintf("period of subscription %q overlaps a stored period starting %s", v[0], unixDate(v[2]))
				}
				return fmt.Sprintf("period of subscription %q overlaps the one at line %s", v[0], v[1])
			},
		}},
		merge: billing.MergePeriods,
	},
	"events": {
		name:    "events",
		columns: cols("account_id*", "user_id", "event*", "timestamp*", "properties", "message_id"),
		direct:  true, // see events.go
	},
	"tickets": {
		name:    "tickets",
		keep:    same("closed_at", "status", "priority", "category", "subject", "csat"),
		columns: cols("ticket_id*", "account_id*", "opened_at*", "closed_at", "status", "priority", "category", "subject", "csat"),
		stage:   support.StageTickets, stageColumns: support.StageTicketsColumns,
		parse: func(r *row) []any {
			opened, closed := r.time("opened_at", true), r.time("closed_at", false)
			if o, ok := opened.(int64); ok {
				if c, ok := closed.(int64); ok && c < o {
					r.fail("closed_at", "closed_at is before opened_at")
				}
			}
			return []any{r.req("ticket_id"), r.req("account_id"), opened, closed, r.str("status"), r.str("priority"),
				r.str("category"), r.str("subject"), r.integer("csat", 1, 5, false)}
		},
		key: []string{"ticket_id"}, target: "tickets", accountColumn: "account_id",
		merge: support.MergeTickets,
	},
	"responses": {
		name:    "responses",
		keep:    same("contact_id", "comment"),
		columns: cols("response_id*", "account_id*", "contact_id", "survey*", "kind", "score*", "comment", "answered_at*"),
		stage:   survey.StageResponses, stageColumns: survey.StageResponsesColumns,
		parse: func(r *row) []any {
			k := r.oneOf("kind", "nps", "nps", "csat", "ces")
			rng, ok := survey.ScoreRange[k]
			if !ok {
				rng = [2]int{0, 10}
			}
			score, _ := r.integer("score", int64(rng[0]), int64(rng[1]), true).(int64)
			return []any{r.req("response_id"), r.req("account_id"), r.str("contact_id"), r.req("survey"), k, score,
				r.str("comment"), r.time("answered_at", true)}
		},
		key: []string{"response_id"}, target: "survey_responses", accountColumn: "account_id",
		merge: survey.MergeResponses,
	},
	"orders": {
		name:    "orders",
		columns: cols("order_id", "account_id*", "ordered_at*", "amount*", "currency"),
		stage:   billing.StageOrders, stageColumns: billing.StageOrdersColumns,
		parse: func(r *row) []any {
			acct := r.req("account_id")
			at := r.time("ordered_at", true)
			cur := r.currency("currency")
			amount := r.money("amount", cur, true)
			id := r.str("order_id")
			if id == "" {
				// Orders without ids are de-duplicated by their fields, as events are.
				t, _ := at.(int64)
				id = usage.DedupeKey("", acct, cur, fmt.Sprint(amount), t, "order")
			}
			return []any{id, acct, at, amount, cur}
		},
		key: []string{"order_id"}, target: "orders", accountColumn: "account_id",
		merge: billing.MergeOrders,
	},
	"costs": {
		name:    "costs",
		columns: cols("month*", "kind*", "amount*", "currency"),
		stage:   billing.StageCosts, stageColumns: billing.StageCostsColumns,
		parse: func(r *row) []any {
			m := r.month("month")
			k := r.oneOf("kind", "", "acquisition", "retention")
			cur := r.currency("currency")
			return []any{m, k, cur, r.money("amount", cur, false)}
		},
		key: []string{"month", "kind", "currency"}, target: "costs",
		merge: billing.MergeCosts,
	},
	"feedback": {
		name:    "feedback",
		keep:    same("account_id", "category", "source"),
		columns: cols("feedback_id*", "account_id", "category", "text*", "source", "created_at"),
		stage:   feedback.StageItems, stageColumns: feedback.StageItemsColumns,
		parse: func(r *row) []any {
			created := r.time("created_at", false) // nil: feedback.MergeItems fills it
			return []any{r.req("feedback_id"), r.opt("account_id"), r.oneOf("category", "other", feedback.Categories...),
				r.req("text"), r.str("source"), created}
		},
		key: []string{"feedback_id"}, target: "feedback", accountColumn: "account_id", accountOptional: true,
		merge: feedback.MergeItems,
	},
}

func unixDate(s string) string {
	var ts int64
	if _, err := fmt.Sscan(s, &ts); err != nil || ts > math.MaxInt64/2 {
		return s
	}
	return fmt.Sprint(timeUTC(ts).Format("2006-01-02"))
}

// Columns lists the columns of a kind as CONTRACT.md writes them, a
// required one with a trailing "*", and whether unknown columns become
// custom attributes; nil for an unknown kind.
func Columns(kindName string) (columns []string, custom bool) {
	k, ok := kinds[kindName]
	if !ok {
		return nil, false
	}
	for _, c := range k.columns {
		name := c.name
		if c.required {
			name += "*"
		}
		columns = append(columns, name)
	}
	return columns, k.custom != ""
}
