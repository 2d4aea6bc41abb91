package coverage

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// TierCount is one tier's customers and ARR.
type TierCount struct {
	Tier       string  `json:"tier" enum:"high,low,tech"`
	Accounts   int     `json:"accounts"`
	ARR        float64 `json:"arr"`
	ShareOfARR float64 `json:"share_of_arr" doc:"The tier's ARR ÷ the total ARR (0 when the total is 0)."`
}

// TierReport is the customers counted by tier, with the thresholds.
type TierReport struct {
	*Book
	Customers int         `json:"customers"`
	TotalARR  float64     `json:"total_arr"`
	Tiers     []TierCount `json:"tiers" doc:"high, low and tech, in that order."`
}

// TierCounts counts the book's customers (ARR > 0) and sums their ARR by tier.
func TierCounts(b *Book) TierReport {
	r := TierReport{Book: b, Tiers: []TierCount{{Tier: TierHigh}, {Tier: TierLow}, {Tier: TierTech}}}
	for _, a := range b.Accounts {
		for i := range r.Tiers {
			if r.Tiers[i].Tier == a.Tier {
				r.Tiers[i].Accounts++
				r.Tiers[i].ARR += a.ARR
				r.Customers++
				r.TotalARR += a.ARR
			}
		}
	}
	for i := range r.Tiers {
		if r.TotalARR > 0 {
			r.Tiers[i].ShareOfARR = r.Tiers[i].ARR / r.TotalARR
		}
	}
	return r
}

// Ranked is one customer in the revenue ranking.
type Ranked struct {
	Rank int `json:"rank" doc:"1 for the largest ARR, over every customer (filters do not renumber)."`
	Account
	Share           float64 `json:"share" doc:"ARR ÷ the total ARR of every customer."`
	CumulativeShare float64 `json:"cumulative_share" doc:"The share of this customer and every one ranked above it (Pareto)."`
}

// RankFilter selects rows of the ranking; the ranks and shares are always
// those of the whole book.
type RankFilter struct {
	Owner  string // an owner's email; "none" for the unassigned
	Tier   string // high, low or tech
	Offset int
	Limit  int // 0: store.PageLimit's default
}

// Ranking is a page of the revenue ranking.
type Ranking struct {
	Currency  string   `json:"currency"`
	Customers int      `json:"customers" doc:"Customers in the whole ranking."`
	TotalARR  float64  `json:"total_arr"`
	Matched   int      `json:"matched" doc:"Customers matching the filters."`
	Accounts  []Ranked `json:"accounts"`
}

// Rank orders the book's customers by ARR descending (ties by account id),
// with shares of the total, and returns the page f selects.
func Rank(b *Book, f RankFilter) Ranking {
	var cs []Account
	var total float64
	for _, a := range b.Accounts {
		if a.Tier != "" {
			cs = append(cs, a)
			total += a.ARR
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].ARR != cs[j].ARR {
			return cs[i].ARR > cs[j].ARR
		}
		return cs[i].AccountID < cs[j].AccountID
	})
	out := Ranking{Currency: b.Currency, Customers: len(cs), TotalARR: total, Accounts: []Ranked{}}
	limit := store.PageLimit(f.Limit)
	var cum float64
	for i, a := range cs {
		cum += a.ARR
		ownerOK := f.Owner == "" || a.Owner == f.Owner || (f.Owner == "none" && a.Owner == "")
		if !ownerOK || (f.Tier != "" && a.Tier != f.Tier) {
			continue
		}
		out.Matched++
		if out.Matched <= f.Offset || len(out.Accounts) >= limit {
			continue
		}
		r := Ranked{Rank: i + 1, Account: a}
		if total > 0 {
			r.Share, r.CumulativeShare = a.ARR/total, cum/total
		}
		out.Accounts = append(out.Accounts, r)
	}
	return out
}

// Workload is one CSM's book.
type Workload struct {
	Email    string  `json:"email"`
	Name     string  `json:"name"`
	Role     string  `json:"role" doc:"The user's role; empty for an owner email that is no user."`
	Accounts int     `json:"accounts" doc:"Accounts owned (customers or not)."`
	ARR      float64 `json:"arr" doc:"Their ARR now."`
	// OpenTasks are the owner's tasks that are open or in progress (table
	// tasks, internal/playbook) and RedAccounts the owned accounts whose
	// current health band is red (table health_current, internal/health).
	OpenTasks   int `json:"open_tasks" doc:"Open or in-progress tasks assigned to the CSM."`
	RedAccounts int `json:"red_accounts" doc:"Owned accounts whose current health band is red."`
}

// Workloads returns the workload of every user with role csm or manager
// and of every other owner email found on accounts, by email, at instant
// at: each account's MRR as the book reads it, summed per owner.
func Workloads(ctx context.Context, q store.Querier, at time.Time) ([]Workload, error) {
	conv, err := billing.LoadConverter(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	accounts, err := readAccounts(ctx, q, conv, at)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	return workloads(ctx, q, accounts)
}

// WorkloadsOf is [Workloads] from a book already loaded, for a page that
// shows both without reading every account twice.
func WorkloadsOf(ctx context.Context, q store.Querier, b *Book) ([]Workload, error) {
	return workloads(ctx, q, b.Accounts)
}

func workloads(ctx context.Context, q store.Querier, accounts []Account) ([]Workload, error) {
	users, err := user.List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	by := map[string]*Workload{}
	for _, u := range users {
		if u.Role == user.RoleCSM || u.Role == user.RoleManager {
			by[u.Email] = &Workload{Email: u.Email, Name: u.Name, Role: u.Role}
		}
	}
	names := make(map[string]user.User, len(users))
	for _, u := range users {
		names[u.Email] = u
	}
	for _, a := range accounts {
		if a.Owner == "" {
			continue
		}
		w := by[a.Owner]
		if w == nil {
			u := names[a.Owner]
			w = &Workload{Email: a.Owner, Name: u.Name, Role: u.Role}
			by[a.Owner] = w
		}
		w.Accounts++
		w.ARR += 12 * a.MRR
	}
	out := make([]Workload, 0, len(by))
	emails := make([]string, 0, len(by))
	for e := range by {
		emails = append(emails, e)
	}
	sort.Strings(emails)
	extra, err := openTasksAndRed(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	for _, e := range emails {
		w := by[e]
		w.OpenTasks, w.RedAccounts = extra[e].openTasks, extra[e].red
		out = append(out, *w)
	}
	return out, nil
}

type taskAndRed struct{ openTasks, red int }

// openTasksAndRed returns, per email, the open or in-progress tasks
// assigned to it (tasks, internal/task) and the accounts it owns whose
// current health band is red (health_current, internal/health).
func openTasksAndRed(ctx context.Context, q store.Querier) (map[string]taskAndRed, error) {
	out := map[string]taskAndRed{}
	count := func(what, query string, add func(t *taskAndRed, n int)) error {
		rows, err := q.QueryContext(ctx, query)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			var email string
			var n int
			if err := rows.Scan(&email, &n); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			t := out[email]
			add(&t, n)
			out[email] = t
		}
		return rows.Err()
	}
	if err := count("open tasks", `SELECT assignee, COUNT(*) FROM tasks
		WHERE status IN ('open', 'in_progress') AND assignee IS NOT NULL GROUP BY assignee`,
		func(t *taskAndRed, n int) { t.openTasks = n }); err != nil {
		return nil, err
	}
	if err := count("red accounts", `SELECT a.owner_email, COUNT(*) FROM accounts a JOIN health_current h ON h.account_id = a.account_id
		WHERE h.band = 'red' AND a.owner_email IS NOT NULL GROUP BY a.owner_email`,
		func(t *taskAndRed, n int) { t.red = n }); err != nil {
		return nil, err
	}
	return out, nil
}
